import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run against the TypeScript sources of sibling packages, not their dist.
    alias: [
      { find: /^@orgplane\/kit$/, replacement: src('./kit/src/index.ts') },
      { find: /^@orgplane\/embedded$/, replacement: src('./embedded/src/index.ts') },
      { find: /^@orgplane\/runtime\/rules$/, replacement: src('./runtime/src/rules.ts') },
      { find: /^@orgplane\/runtime\/wire$/, replacement: src('./runtime/src/wire.ts') },
      { find: /^@orgplane\/runtime\/guards$/, replacement: src('./runtime/src/guards/index.ts') },
      { find: /^@orgplane\/runtime$/, replacement: src('./runtime/src/index.ts') },
      { find: /^@orgplane\/control-plane\/api\/rules$/, replacement: src('./control-plane/src/api/rules.ts') },
      { find: /^@orgplane\/control-plane\/api$/, replacement: src('./control-plane/src/api/index.ts') },
      { find: /^@orgplane\/control-plane\/moves$/, replacement: src('./control-plane/src/features/moves/Move.ts') },
      { find: /^@orgplane\/control-plane\/tokens$/, replacement: src('./control-plane/src/features/auth/createApiToken.ts') },
      { find: /^@orgplane\/control-plane$/, replacement: src('./control-plane/src/index.ts') },
      { find: /^@orgplane\/tenant-api$/, replacement: src('./examples/tenant-api/src/index.ts') },
      { find: /^@orgplane\/chaos$/, replacement: src('./chaos/src/index.ts') },
    ],
  },
  test: {
    include: [
      '{kit,runtime,control-plane,embedded,cli}/{src,test}/**/*.test.{ts,tsx}',
      'test/**/*.test.ts',
      'runbooks/**/*.test.ts',
      'bench/**/*.test.ts',
      'examples/*/{src,test}/**/*.test.ts',
    ],
    exclude: ['**/node_modules/**', '**/dist/**'],
    globalSetup: ['./test/globalSetup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
