import { describe, expect, it } from 'vitest';
import { seededInts } from '@cap/testkit';
import { mayHoldSecret, REDACTED, Redactor, SECRET_PATTERNS } from '../src/domain/redaction.js';

describe('secret redaction', () => {
  const cases: Array<[string, string, string]> = [
    [
      'GitHub classic token',
      'push with ghp_abcdefghijklmnopqrstuvwxyz0123456789 now',
      `push with ${REDACTED} now`,
    ],
    ['GitHub fine-grained token', 'github_pat_11ABCDEFG0123456789_abcdefghijklmnop', REDACTED],
    ['OpenAI key', 'OPENAI=sk-proj-abcdefghijklmnop1234567890', `OPENAI=${REDACTED}`],
    ['Anthropic key', 'key sk-ant-api03-abcdefghijklmnopqrstuv', `key ${REDACTED}`],
    ['AWS access key id', 'id AKIAIOSFODNN7EXAMPLE used', `id ${REDACTED} used`],
    [
      'AWS secret assignment',
      'aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      `aws_secret_access_key = ${REDACTED}`,
    ],
    [
      'Bearer header',
      'Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc',
      `Authorization: Bearer ${REDACTED}`,
    ],
    [
      'password assignment',
      'connecting with password=hunter2!x and user=bob',
      `connecting with password=${REDACTED} and user=bob`,
    ],
    ['JSON password', '{"password": "s3cr3t-value"}', `{"password": "${REDACTED}"}`],
    [
      'URL credentials',
      'clone https://bob:s3cret@github.com/o/r.git',
      `clone https://bob:${REDACTED}@github.com/o/r.git`,
    ],
    [
      'one-line PEM',
      '-----BEGIN RSA PRIVATE KEY-----MIIEabc-----END RSA PRIVATE KEY----- tail',
      `${REDACTED} tail`,
    ],
    ['ordinary text', 'Compiled 12 files in 3.2 s; tokenizer ok', 'Compiled 12 files in 3.2 s; tokenizer ok'],
  ];

  it.each(cases)('redacts a %s', (_name, input, expected) => {
    expect(new Redactor().redact(input)).toBe(expected);
  });

  it('redacts a PEM block that arrives line by line, per stream', () => {
    const redactor = new Redactor();
    const lines = [
      'key follows:',
      '-----BEGIN OPENSSH PRIVATE KEY-----',
      'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtz',
      'c2gtZWQyNTUxOQAAACDZ',
      '-----END OPENSSH PRIVATE KEY----- done',
    ];
    const out = lines.map((line) => redactor.redact(line, 'stdout'));
    expect(out).toEqual(['key follows:', REDACTED, REDACTED, REDACTED, `${REDACTED} done`]);
    // Another stream is not affected by an open block on stdout.
    const other = new Redactor();
    other.redact('-----BEGIN PRIVATE KEY-----', 'stdout');
    expect(other.redact('plain stderr line', 'stderr')).toBe('plain stderr line');
  });

  it('redacts values registered for the task, longest first, and ignores too-short ones', () => {
    const redactor = new Redactor(['deploy-token-123456', 'deploy-token-123456-extended']);
    redactor.register('abc');
    expect(redactor.redact('a deploy-token-123456-extended and deploy-token-123456 and abc')).toBe(
      `a ${REDACTED} and ${REDACTED} and abc`,
    );
    expect(redactor.redact('regex chars: a.b*c+(d)', 'x')).toBe('regex chars: a.b*c+(d)');
    redactor.register('a.b*c+(d)');
    expect(redactor.redact('regex chars: a.b*c+(d)')).toBe(`regex chars: ${REDACTED}`);
  });

  it('redacts strings inside structured data', () => {
    const redactor = new Redactor(['topsecretvalue']);
    expect(
      redactor.redactValue({
        args: ['--token', 'topsecretvalue'],
        nested: { header: 'Bearer abcdefghijklmnop' },
        n: 3,
      }),
    ).toEqual({
      args: ['--token', REDACTED],
      nested: { header: `Bearer ${REDACTED}` },
      n: 3,
    });
  });
});

describe('the redactor’s fast path', () => {
  // Fragments of every secret shape, near misses, and ordinary log text, in mixed case.
  const fragments = [
    'ghp_',
    'gho_',
    'github_pat_',
    'sk-',
    'sk-ant-',
    'AKIA',
    'ASIA',
    'akia',
    'xoxb-',
    'xoxp-',
    'Bearer ',
    'basic ',
    'TOKEN',
    'password',
    'PassWd',
    'pwd',
    'secret',
    'api_key',
    'apiKey',
    'access-key',
    'private_key',
    'client_secret',
    '://',
    'https://',
    'user:',
    '@',
    '-----BEGIN RSA PRIVATE KEY-----',
    '-----END RSA PRIVATE KEY-----',
    '=',
    ': ',
    '"',
    "'",
    ' ',
    '\t',
    '.',
    '/',
    '-',
    '_',
    'abcdefghijklmnopqrstuvwxyz',
    'ABCDEFGHIJKLMNOP',
    '0123456789',
    'ok',
    'PASS',
    'src/index.ts:12',
    'npm test',
    '✓',
    '日本語',
  ];
  const random = seededInts(0x5ec2e7);
  const line = (): string =>
    Array.from({ length: 1 + random(12) }, () => fragments[random(fragments.length)]!).join('');

  it('skips only lines that no secret pattern matches (20,000 generated lines)', () => {
    let skipped = 0;
    let redacted = 0;
    for (let index = 0; index < 20_000; index += 1) {
      // A fresh redactor per line: an open PEM block would hide the lines after it whatever they hold.
      const redactor = new Redactor();
      const text = line();
      if (!mayHoldSecret(text)) {
        skipped += 1;
        for (const { name, pattern } of SECRET_PATTERNS) {
          expect(
            new RegExp(pattern.source, pattern.flags.replace('g', '')).test(text),
            `${name}: ${text}`,
          ).toBe(false);
        }
        expect(redactor.redact(text)).toBe(text);
      } else if (redactor.redact(text) !== text) redacted += 1;
    }
    // Both paths were exercised.
    expect(skipped).toBeGreaterThan(1_000);
    expect(redacted).toBeGreaterThan(1_000);
  });
});
