import pg from 'pg';
import { escapeLiteral } from './org-database.js';

describe('escapeLiteral', () => {
  it("writes every literal exactly as pg's escapeLiteral does", () => {
    const rows = JSON.stringify([{ error: "it's \\ broken", chunk: 'line\n"quoted"\ttab', name: 'ünïcødé ☃ 𝄞' }]);
    for (const value of ['', 'plain', "'", "''", '\\', "\\'", "a'b\\c'd\\\\e", "E'x'", rows, rows.repeat(200)]) {
      expect(escapeLiteral(value)).toBe(pg.Client.prototype.escapeLiteral(value));
    }
  });
});
