import { BadRequestException } from '@nestjs/common';
import type { FastifyReply } from 'fastify';

/** One entity tag of a version, as `ETag` carries it and `If-Match` / `If-None-Match` quote it back. */
const ENTITY_TAG = /^(?:W\/)?"(\d{1,15})"$/;

/** `ETag` of a version: the version number, quoted. */
export function setEntityTag(reply: FastifyReply, version: number): void {
  reply.header('ETag', `"${version}"`);
}

/** The version an `If-Match` header requires (`'*'`: any, as long as it exists); 400 for anything else than one tag or `*`. */
export function parseIfMatch(header: string | undefined): number | '*' | undefined {
  if (header === undefined) return undefined;
  const value = header.trim();
  if (value === '*') return '*';
  const version = ENTITY_TAG.exec(value)?.[1];
  if (version === undefined) throw new BadRequestException('If-Match must be one entity tag ("<version>", as ETag gives it) or *');
  return Number(version);
}

/** The version `If-Match` requires, where `*` means nothing more than the target's own existence. */
export function requiredVersion(header: string | undefined): number | undefined {
  const wanted = parseIfMatch(header);
  return wanted === '*' ? undefined : wanted;
}

/** Whether a GET's `If-None-Match` names the current version (or `*`), so 304 answers it. */
export function notModified(header: string | undefined, version: number): boolean {
  if (header === undefined) return false;
  return header.split(',').some((tag) => {
    const value = tag.trim();
    return value === '*' || ENTITY_TAG.exec(value)?.[1] === String(version);
  });
}
