/**
 * Wraps a tool's real output the way the GitHub Actions runner writes a job log: every line prefixed with its
 * ISO timestamp (100 ns precision), the step opened by `##[group]Run <command>` with the script and shell echoed
 * inside the group, and a failing step closed by `##[error]Process completed with exit code N.`.
 */
export interface Step {
  command: string;
  output: string;
  exitCode?: number;
}

export function githubJobLog(steps: Step[], options: { crlf?: boolean; start?: Date } = {}): string {
  let clock = (options.start ?? new Date('2026-12-06T10:00:00Z')).getTime();
  const lines: string[] = [];
  const stamp = (text: string) => {
    clock += 37;
    lines.push(`${new Date(clock).toISOString().replace(/\.(\d{3})Z$/, '.$10000Z')} ${text}`);
  };
  stamp('##[group]Runner Image');
  stamp('Image: ubuntu-24.04');
  stamp('##[endgroup]');
  for (const step of steps) {
    stamp(`##[group]Run ${step.command}`);
    stamp(`\x1b[36;1m${step.command}\x1b[0m`);
    stamp('shell: /usr/bin/bash -e {0}');
    stamp('##[endgroup]');
    for (const line of step.output.replace(/\n$/, '').split('\n')) stamp(line);
    if (step.exitCode) stamp(`##[error]Process completed with exit code ${step.exitCode}.`);
  }
  return lines.join(options.crlf ? '\r\n' : '\n') + (options.crlf ? '\r\n' : '\n');
}
