/*
 * The agent's debug lines: what it decided quietly and a learner may want to see why (a seccomp
 * rule left out because its system call is another architecture's). Off unless the agent runs
 * with CONTAINERS_LAB_DEBUG=1; then each is one line on stderr, where `serve` logs.
 */
export function debugLog(line: string): void {
  if (process.env.CONTAINERS_LAB_DEBUG === '1') process.stderr.write(`containers-lab debug: ${line}\n`);
}
