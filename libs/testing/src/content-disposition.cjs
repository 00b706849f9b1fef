'use strict';
/* global exports */
// Stands in for content-disposition 3 (an ES module) under Jest, which cannot require one on this
// Node: @fastify/static requires it for reply.download() only. The attachment header it would build.
exports.create = function create(filename) {
  const name = String(filename ?? '').replace(/^.*[\\/]/, '');
  if (/^[\x20-\x7e]*$/.test(name)) return `attachment; filename="${name.replace(/["\\]/g, '\\$&')}"`;
  const fallback = name.replace(/[^\x20-\x7e]/g, '?').replace(/["\\]/g, '\\$&');
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encodeURIComponent(name)}`;
};
