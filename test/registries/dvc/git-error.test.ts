/** How a failed git run is classified, from git's own stderr (copied from real runs of git 2.39). */
import { describe, expect, it } from 'vitest';
import { gitError } from '../../../src/clients/git/git-runner.js';

describe('gitError', () => {
  it('an atomic push that lost a race is not an unreachable remote, and keeps the rejected lines past the hints', () => {
    const stderr = [
      'error: atomic push failed for ref refs/heads/main. status: 5',
      '',
      'fatal: the remote end hung up unexpectedly',
      'To /tmp/registry/models.git',
      ' ! [rejected]        91fabe0 -> main (fetch first)',
      ' ! [rejected]        raced@v0.0.1 -> raced@v0.0.1 (atomic push failed)',
      "error: failed to push some refs to '/tmp/registry/models.git'",
      'hint: Updates were rejected because the remote contains work that you do',
      'hint: not have locally. This is usually caused by another repository pushing',
      'hint: to the same ref. You may want to first integrate the remote changes',
      "hint: (e.g., 'git pull ...') before pushing again.",
      "hint: See the 'Note about fast-forwards' in 'git push --help' for details.",
    ].join('\n');
    const error = gitError('pushing the new version', stderr, undefined, new Error('exit 1'));
    expect(error.code).toBe('INTERNAL');
    // What the DVC publisher reads to tell a lost race (and rebuild on the new state).
    expect(error.details?.stderr).toMatch(/rejected|failed to push/);
    expect(error.details?.stderr).not.toMatch(/hint:/);
  });

  it('a remote that hangs up without rejecting anything is unreachable', () => {
    const error = gitError(
      'fetching',
      'fatal: the remote end hung up unexpectedly\nfatal: early EOF',
      undefined,
      new Error('exit 128'),
    );
    expect(error.code).toBe('REGISTRY_UNAVAILABLE');
    expect(error.details?.stderr).toContain('early EOF');
  });
});
