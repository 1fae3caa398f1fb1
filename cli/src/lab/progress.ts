// Progress of a lab command: told to the caller and appended to <dir>/lab.log, so a
// failure can point at a log that says how far it got. Never give it a secret.
import { appendFileSync } from 'node:fs';

export type Progress = (step: string) => void;

export function progressTo(logFile: string, onProgress?: (step: string) => void): Progress {
  return (step) => {
    try {
      appendFileSync(logFile, `${new Date().toISOString()} ${step}\n`, { mode: 0o600 });
    } catch {
      // the log is a convenience; a full disk shows up in the step that needs it
    }
    onProgress?.(step);
  };
}
