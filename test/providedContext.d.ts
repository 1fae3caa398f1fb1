// What test/globalSetup.ts hands every test file through vitest's inject(). Each
// test tsconfig includes this file, so inject('pgAdminUrl') is typed everywhere.
import 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
  }
}
