import { Injectable } from '@nestjs/common';
import type pg from 'pg';
import type { StoredDocument } from './document.js';

interface DocumentRow extends pg.QueryResultRow {
  collection: string;
  id: string;
  data: Record<string, unknown>;
  version: string;
  seq: string;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = 'collection, id, data, version, seq, created_at, updated_at';

const toDocument = (row: DocumentRow): StoredDocument => ({
  collection: row.collection,
  id: row.id,
  data: row.data,
  version: Number(row.version),
  createdAt: row.created_at.toISOString(),
  updatedAt: row.updated_at.toISOString(),
});

/** SQL of the org database's `documents`, always on a client of the caller's transaction (RLS decides). */
@Injectable()
export class DocumentRepository {
  /** Creates the document at version 1, or nothing when the id is taken. */
  async insert(client: pg.ClientBase, collection: string, id: string, json: string): Promise<StoredDocument | undefined> {
    const { rows } = await client.query<DocumentRow>(
      `INSERT INTO documents (collection, id, data) VALUES ($1, $2, $3::jsonb) ON CONFLICT (collection, id) DO NOTHING RETURNING ${COLUMNS}`,
      [collection, id, json],
    );
    return rows[0] && toDocument(rows[0]);
  }

  /** The document; with `forUpdate`, locked until the transaction ends (a read-modify-write). */
  async get(client: pg.ClientBase, collection: string, id: string, forUpdate = false): Promise<StoredDocument | undefined> {
    const { rows } = await client.query<DocumentRow>(
      `SELECT ${COLUMNS} FROM documents WHERE collection = $1 AND id = $2${forUpdate ? ' FOR UPDATE' : ''}`,
      [collection, id],
    );
    return rows[0] && toDocument(rows[0]);
  }

  /**
   * Replaces the data, one version up, only at `version` when given. Concurrent writers of
   * the same version serialise on the row lock and the later one finds it moved.
   */
  async replace(
    client: pg.ClientBase,
    collection: string,
    id: string,
    json: string,
    version?: number,
  ): Promise<StoredDocument | undefined> {
    const { rows } = await client.query<DocumentRow>(
      `UPDATE documents SET data = $3::jsonb, version = version + 1, updated_at = now()
       WHERE collection = $1 AND id = $2 AND ($4::bigint IS NULL OR version = $4) RETURNING ${COLUMNS}`,
      [collection, id, json, version ?? null],
    );
    return rows[0] && toDocument(rows[0]);
  }

  /** Deletes the document (only at `version` when given); returns what it was. */
  async delete(client: pg.ClientBase, collection: string, id: string, version?: number): Promise<StoredDocument | undefined> {
    const { rows } = await client.query<DocumentRow>(
      `DELETE FROM documents WHERE collection = $1 AND id = $2 AND ($3::bigint IS NULL OR version = $3) RETURNING ${COLUMNS}`,
      [collection, id, version ?? null],
    );
    return rows[0] && toDocument(rows[0]);
  }

  /**
   * Documents of the collection whose data contains `match` (served by the GIN index),
   * newest first, before the cursor's `seq`; one more than `limit` to tell a next page.
   */
  async list(
    client: pg.ClientBase,
    query: { collection: string; match?: string; beforeSeq?: string; limit: number },
  ): Promise<{ documents: StoredDocument[]; lastSeq: string | undefined }> {
    // platform.match_documents checks the caller's read right once, then lets the GIN index serve `@>` (see org migration 0010).
    const { rows } =
      query.match === undefined
        ? await client.query<DocumentRow>(
            `SELECT ${COLUMNS} FROM documents WHERE collection = $1 AND ($2::bigint IS NULL OR seq < $2) ORDER BY seq DESC LIMIT $3`,
            [query.collection, query.beforeSeq ?? null, query.limit + 1],
          )
        : await client.query<DocumentRow>(`SELECT ${COLUMNS} FROM platform.match_documents($1, $2::jsonb, $3, $4)`, [
            query.collection,
            query.match,
            query.beforeSeq ?? null,
            query.limit + 1,
          ]);
    const page = rows.slice(0, query.limit);
    return { documents: rows.map(toDocument), lastSeq: rows.length > query.limit ? page[page.length - 1]!.seq : undefined };
  }

  /** Every collection with its number of documents, by name. */
  async collections(client: pg.ClientBase): Promise<{ collection: string; count: number }[]> {
    const { rows } = await client.query<{ collection: string; count: string }>(
      'SELECT collection, count(*) AS count FROM documents GROUP BY collection ORDER BY collection',
    );
    return rows.map((row) => ({ collection: row.collection, count: Number(row.count) }));
  }
}
