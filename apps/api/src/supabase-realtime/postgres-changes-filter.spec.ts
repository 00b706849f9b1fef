import { InvalidFilterError, parseFilter, rowMatches } from './postgres-changes-filter.js';

const matches = (filter: string, row: Record<string, unknown>) => rowMatches(parseFilter(filter), row);

describe('postgres_changes filters', () => {
  it('reads every operator, the not. prefix and comma as AND', () => {
    expect(parseFilter('a=eq.1,b=not.in.(x,"y,z"),c=is.null,d=ilike.*Ab%')).toEqual([
      { column: 'a', operator: 'eq', negated: false, value: '1' },
      { column: 'b', operator: 'in', negated: true, value: ['x', 'y,z'] },
      { column: 'c', operator: 'is', negated: false, value: null },
      expect.objectContaining({ column: 'd', operator: 'ilike', negated: false, value: '*Ab%' }),
    ]);
    expect(parseFilter(undefined)).toEqual([]);
    expect(parseFilter('')).toEqual([]);
  });

  it('compares numbers as numbers, text as text, and never matches NULL except with is', () => {
    expect(matches('n=lt.10', { n: 9 })).toBe(true);
    expect(matches('n=lt.10', { n: 10 })).toBe(false);
    expect(matches('n=gte.10', { n: '10' })).toBe(true);
    expect(matches('s=gt.b', { s: 'c' })).toBe(true);
    expect(matches('s=eq.x', { s: null })).toBe(false);
    expect(matches('s=not.eq.x', { s: null })).toBe(false);
    expect(matches('s=is.null', { s: null })).toBe(true);
    expect(matches('s=not.is.null', { s: 'x' })).toBe(true);
    expect(matches('f=is.true', { f: true })).toBe(true);
    expect(matches('j=eq.{"a":1}', { j: { a: 1 } })).toBe(true);
  });

  it('matches like and ilike with % and * for any run and _ for one character, and escapes everything else', () => {
    expect(matches('s=like.a%c', { s: 'abbc' })).toBe(true);
    expect(matches('s=like.a_c', { s: 'abc' })).toBe(true);
    expect(matches('s=like.A*', { s: 'abc' })).toBe(false);
    expect(matches('s=ilike.A*', { s: 'abc' })).toBe(true);
    expect(matches('s=like.a.c', { s: 'abc' })).toBe(false);
    expect(matches('s=like.(a)', { s: '(a)' })).toBe(true);
  });

  it('does not match a row lacking a filtered column (a delete without it in its replica identity)', () => {
    expect(matches('name=eq.x', { id: 1 })).toBe(false);
    expect(matches('id=eq.1,name=eq.x', { id: 1, name: 'x' })).toBe(true);
  });

  it('refuses unreadable filters with a message naming the fault', () => {
    const bad: [string, RegExp][] = [
      ['a', /not column=operator.value/],
      ['a=eq', /needs a value/],
      ['a=between.1', /unknown operator "between"/],
      ['1a=eq.1', /not a column name/],
      ['a=in.1,2', /takes a list/],
      [`a=in.(${Array.from({ length: 101 }, (_, i) => i).join(',')})`, /at most 100 values/],
      ['a=is.maybe', /null, true or false/],
      [Array.from({ length: 21 }, (_, i) => `c${i}=eq.1`).join(','), /at most 20 conditions/],
    ];
    for (const [filter, message] of bad) {
      expect(() => parseFilter(filter)).toThrow(InvalidFilterError);
      expect(() => parseFilter(filter)).toThrow(message);
    }
    expect(() => parseFilter(`a=in.(${Array.from({ length: 100 }, (_, i) => i).join(',')})`)).not.toThrow();
  });
});
