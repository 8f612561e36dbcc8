/**
 * Which strings may name a tensor. A name is a key, never a path: names with control characters
 * (a NUL, a terminal escape) or that read as a file path (absolute, a drive letter, a backslash, a
 * `.` or `..` segment) are refused when a file is read or written, so no later message, log or
 * file name built from a name carries them.
 */

/** Why `name` cannot name a tensor, or undefined when it can. */
export function tensorNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'tensor name is empty';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  const ctl = /[\u0000-\u001f\u007f-\u009f]/.exec(name);
  if (ctl) {
    const code = (ctl[0].codePointAt(0) as number).toString(16).padStart(2, '0');
    return `tensor name holds control character \\x${code} at index ${ctl.index}`;
  }
  if (/^[/\\]/.test(name) || /^[A-Za-z]:/.test(name) || name.includes('\\'))
    return 'tensor name looks like a file path (absolute, drive letter or backslash)';
  if (name.split('/').some((seg) => seg === '.' || seg === '..'))
    return "tensor name looks like a file path (a '.' or '..' segment)";
  return undefined;
}
