import { SecretMasker } from './secret-masker.js';

/** Pushes the chunks one by one, then flushes: all the masker ever lets through. */
function run(values: string[], chunks: string[]): string {
  const masker = new SecretMasker(values);
  return chunks.map((chunk) => masker.push(chunk)).join('') + masker.flush();
}

describe('SecretMasker', () => {
  it('masks a value inside one chunk', () => {
    expect(run(['s3cr3t'], ['token=s3cr3t done\n'])).toBe('token=*** done\n');
  });

  it('masks a value split across chunks, whatever the split', () => {
    const text = 'a s3cr3t b s3cr3t c';
    for (let cut = 0; cut <= text.length; cut++) {
      for (let second = cut; second <= text.length; second++) {
        expect(run(['s3cr3t'], [text.slice(0, cut), text.slice(cut, second), text.slice(second)])).toBe('a *** b *** c');
      }
    }
  });

  it('masks a value sent one character at a time', () => {
    expect(run(['hunter2'], [...'pw: hunter2!'])).toBe('pw: ***!');
  });

  it('holds back only what could start a value, and lets it go when it does not', () => {
    const masker = new SecretMasker(['s3cr3t']);
    expect(masker.push('abc s3c')).toBe('abc ');
    expect(masker.push('ond')).toBe('s3cond');
    expect(masker.flush()).toBe('');
  });

  it('lets no character of overlapping occurrences through', () => {
    // Masked in two runs, since the first was shown before the second value was complete.
    expect(run(['ABCD', 'CDXY'], ['AB', 'CDX', 'Y tail'])).toMatch(/^(\*\*\*)+ tail$/);
    expect(run(['ABCD', 'CDXY'], ['ABCDXY tail'])).toBe('*** tail');
  });

  it('keeps memory bounded on an endless run of a repeating value', () => {
    const masker = new SecretMasker(['abab']);
    let shown = '';
    for (let i = 0; i < 10_000; i++) shown += masker.push('ab');
    shown += masker.flush();
    expect(shown).toMatch(/^(\*\*\*)+$/);
    expect(shown).not.toContain('a');
  });

  it('masks the trimmed value too, so a value stored with a newline is still caught', () => {
    expect(run(['tok3n\n'], ['x tok3n y'])).toBe('x *** y');
  });

  it('passes text through unchanged when there are no secrets', () => {
    expect(run([], ['plain ', 'text'])).toBe('plain text');
    expect(run([''], ['plain'])).toBe('plain');
  });
});
