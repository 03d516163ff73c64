/*
 * Splitting a command line into words the way a POSIX shell does for simple commands: spaces
 * separate, '…' keeps everything literally, "…" keeps spaces and allows \" and \\. Solution
 * steps are written as the learner would type them, so they are read the same way; the guided
 * "Start busybox container" form reads its command line with it too (extension/commands/busybox-options.ts).
 */
import { badInput } from '../errors';

export function splitWords(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  for (let index = 0; index < line.length; index++) {
    const char = line[index]!;
    if (char === "'") {
      const end = line.indexOf("'", index + 1);
      if (end < 0) throw badInput(`unterminated ' in: ${line}`);
      word += line.slice(index + 1, end);
      index = end;
      inWord = true;
    } else if (char === '"') {
      index++;
      while (index < line.length && line[index] !== '"') {
        if (line[index] === '\\' && (line[index + 1] === '"' || line[index + 1] === '\\')) index++;
        word += line[index];
        index++;
      }
      if (index >= line.length) throw badInput(`unterminated " in: ${line}`);
      inWord = true;
    } else if (char === '\\' && index + 1 < line.length) {
      word += line[++index];
      inWord = true;
    } else if (/\s/.test(char)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += char;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}
