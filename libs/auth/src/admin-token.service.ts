import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { timingSafeEqual } from 'node:crypto';
import { PlatformConfig } from '#libs/config';
import { AdminTokenRepository } from './admin-token.repository.js';
import { generateToken, hashToken } from './token-hash.js';

export const ADMIN_TOKEN_PREFIX = 'plat_admin';

/**
 * Makes sure the platform has an admin token at start: PLATFORM_ADMIN_TOKEN when set,
 * else the stored one, else a new one printed once. Only its hash is kept.
 */
@Injectable()
export class AdminTokenService implements OnApplicationBootstrap {
  constructor(
    private readonly repository: AdminTokenRepository,
    private readonly config: PlatformConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.PLATFORM_ADMIN_TOKEN) {
      await this.repository.replace(hashToken(this.config.PLATFORM_ADMIN_TOKEN), 'environment');
      return;
    }
    if (await this.repository.findHash()) return;
    const token = generateToken(ADMIN_TOKEN_PREFIX);
    // Two replicas starting together race here; only the one whose insert lands prints its token.
    if (await this.repository.insertIfAbsent(hashToken(token), 'generated')) {
      process.stdout.write(`\nPlatform admin token (shown once; store it now, only its hash is kept):\n\n  ${token}\n\n`);
    }
  }

  /** True when `token` is the platform admin token. */
  async verify(token: string): Promise<boolean> {
    const stored = await this.repository.findHash();
    if (!stored) return false;
    return timingSafeEqual(Buffer.from(stored, 'hex'), Buffer.from(hashToken(token), 'hex'));
  }
}
