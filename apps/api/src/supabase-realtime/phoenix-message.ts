/** The two Phoenix serializers supabase-js speaks (`vsn` in the socket URL). */
export const PHOENIX_VSNS = ['1.0.0', '2.0.0'] as const;
export type PhoenixVsn = (typeof PHOENIX_VSNS)[number];

/** One Phoenix channel message, whichever serializer carried it. */
export interface PhoenixMessage {
  join_ref: string | null;
  ref: string | null;
  topic: string;
  event: string;
  payload: Record<string, unknown>;
}

/** A frame that is not a Phoenix message of the connection's serializer. */
export class MalformedFrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedFrameError';
  }
}

/** Binary frame kind of a client broadcast push (realtime-js serializer, vsn 2.0.0). */
const USER_BROADCAST_PUSH = 3;
const BINARY_ENCODING = 0;

const asRef = (value: unknown): string | null => (value === null || value === undefined ? null : String(value));

function checked(topic: unknown, event: unknown, payload: unknown, joinRef: unknown, ref: unknown): PhoenixMessage {
  if (typeof topic !== 'string' || typeof event !== 'string') throw new MalformedFrameError('a message needs a string topic and event');
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload))
    throw new MalformedFrameError('a message payload is an object');
  return { join_ref: asRef(joinRef), ref: asRef(ref), topic, event, payload: payload as Record<string, unknown> };
}

/** Reads a client frame: JSON (an object for 1.0.0, `[join_ref, ref, topic, event, payload]` for 2.0.0) or, on 2.0.0, a binary broadcast push. */
export function decodeFrame(vsn: PhoenixVsn, data: Buffer, isBinary: boolean): PhoenixMessage {
  if (isBinary) {
    if (vsn !== '2.0.0') throw new MalformedFrameError('binary frames need vsn 2.0.0');
    return decodeBroadcastPush(data);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(data.toString('utf8'));
  } catch {
    throw new MalformedFrameError('a text frame must be JSON');
  }
  if (vsn === '2.0.0') {
    if (!Array.isArray(parsed) || parsed.length !== 5)
      throw new MalformedFrameError('vsn 2.0.0 frames are [join_ref, ref, topic, event, payload]');
    const [joinRef, ref, topic, event, payload] = parsed as unknown[];
    return checked(topic, event, payload, joinRef, ref);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new MalformedFrameError('vsn 1.0.0 frames are JSON objects');
  const { topic, event, payload, ref, join_ref: joinRef } = parsed as Record<string, unknown>;
  return checked(topic, event, payload, joinRef, ref);
}

/** realtime-js' binary user broadcast: kind, five lengths, encoding, then join_ref, ref, topic, event, metadata and the payload. */
function decodeBroadcastPush(data: Buffer): PhoenixMessage {
  if (data.length < 7 || data[0] !== USER_BROADCAST_PUSH) throw new MalformedFrameError('unknown binary frame');
  const [joinRefLength, refLength, topicLength, eventLength, metaLength, encoding] = [
    data[1]!,
    data[2]!,
    data[3]!,
    data[4]!,
    data[5]!,
    data[6]!,
  ];
  let offset = 7;
  const take = (length: number) => {
    if (offset + length > data.length) throw new MalformedFrameError('truncated binary frame');
    const text = data.subarray(offset, offset + length).toString('utf8');
    offset += length;
    return text;
  };
  const joinRef = take(joinRefLength);
  const ref = take(refLength);
  const topic = take(topicLength);
  const event = take(eventLength);
  let metadata: Record<string, unknown> = {};
  if (metaLength > 0) {
    try {
      metadata = JSON.parse(take(metaLength)) as Record<string, unknown>;
    } catch (error) {
      if (error instanceof MalformedFrameError) throw error;
      throw new MalformedFrameError('the broadcast metadata must be JSON');
    }
    if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))
      throw new MalformedFrameError('the broadcast metadata is an object');
  }
  const body = data.subarray(offset);
  let userPayload: unknown;
  if (encoding === BINARY_ENCODING) userPayload = { base64: body.toString('base64') };
  else {
    try {
      userPayload = body.length ? JSON.parse(body.toString('utf8')) : {};
    } catch {
      throw new MalformedFrameError('the broadcast payload must be JSON');
    }
  }
  return {
    join_ref: joinRef || null,
    ref: ref || null,
    topic,
    event: 'broadcast',
    payload: { ...metadata, type: 'broadcast', event, payload: userPayload },
  };
}

/** A server frame in the connection's serializer. */
export function encodeFrame(vsn: PhoenixVsn, message: PhoenixMessage): string {
  if (vsn === '2.0.0') return JSON.stringify([message.join_ref, message.ref, message.topic, message.event, message.payload]);
  return JSON.stringify(message);
}

/** A server frame whose payload is already JSON: many channels share one encoded change. */
export function encodeFrameWithPayload(vsn: PhoenixVsn, head: Omit<PhoenixMessage, 'payload'>, payloadJson: string): string {
  const [joinRef, ref, topic, event] = [head.join_ref, head.ref, head.topic, head.event].map((value) => JSON.stringify(value));
  if (vsn === '2.0.0') return `[${joinRef},${ref},${topic},${event},${payloadJson}]`;
  return `{"join_ref":${joinRef},"ref":${ref},"topic":${topic},"event":${event},"payload":${payloadJson}}`;
}
