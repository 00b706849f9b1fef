import { Injectable } from '@nestjs/common';
import { ControlPlaneDatabase } from '#libs/database';

export type AdminTokenSource = 'generated' | 'environment';

/** Reads and writes the single platform admin token hash in the control plane. */
@Injectable()
export class AdminTokenRepository {
  constructor(private readonly database: ControlPlaneDatabase) {}

  async findHash(): Promise<string | undefined> {
    const { rows } = await this.database.query<{ token_sha256: string }>('SELECT token_sha256 FROM platform_admin_token');
    return rows[0]?.token_sha256;
  }

  /** Stores `hash` unless a token exists already; true when this call stored it. */
  async insertIfAbsent(hash: string, source: AdminTokenSource): Promise<boolean> {
    const { rowCount } = await this.database.query(
      'INSERT INTO platform_admin_token (token_sha256, source) VALUES ($1, $2) ON CONFLICT (singleton) DO NOTHING',
      [hash, source],
    );
    return rowCount === 1;
  }

  /** Stores `hash`, replacing any earlier token. */
  async replace(hash: string, source: AdminTokenSource): Promise<void> {
    await this.database.query(
      `INSERT INTO platform_admin_token (token_sha256, source) VALUES ($1, $2)
       ON CONFLICT (singleton) DO UPDATE SET token_sha256 = EXCLUDED.token_sha256, source = EXCLUDED.source, created_at = now()`,
      [hash, source],
    );
  }
}
