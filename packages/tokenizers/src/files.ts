import { existsSync } from 'node:fs';

export function fileExists(p: string): boolean {
  return existsSync(p);
}
