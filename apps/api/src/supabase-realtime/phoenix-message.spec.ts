import { decodeFrame, encodeFrame, encodeFrameWithPayload, MalformedFrameError } from './phoenix-message.js';

/** realtime-js' binary user broadcast push, built the way its serializer builds it. */
function broadcastPush(joinRef: string, ref: string, topic: string, event: string, payload: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(payload));
  const header = Buffer.from([3, joinRef.length, ref.length, topic.length, event.length, 0, 1]);
  return Buffer.concat([header, Buffer.from(joinRef + ref + topic + event), body]);
}

describe('Phoenix serializers', () => {
  const message = { join_ref: '1', ref: '2', topic: 'realtime:room', event: 'phx_join', payload: { config: {} } };

  it('reads and writes vsn 1.0.0 objects and vsn 2.0.0 arrays', () => {
    expect(JSON.parse(encodeFrame('1.0.0', message))).toEqual(message);
    expect(JSON.parse(encodeFrame('2.0.0', message))).toEqual(['1', '2', 'realtime:room', 'phx_join', { config: {} }]);
    expect(decodeFrame('1.0.0', Buffer.from(JSON.stringify(message)), false)).toEqual(message);
    expect(decodeFrame('2.0.0', Buffer.from(encodeFrame('2.0.0', message)), false)).toEqual(message);
  });

  it('writes a pre-encoded payload exactly as the whole message would be written', () => {
    const { payload, ...head } = message;
    for (const vsn of ['1.0.0', '2.0.0'] as const) {
      expect(JSON.parse(encodeFrameWithPayload(vsn, head, JSON.stringify(payload)))).toEqual(JSON.parse(encodeFrame(vsn, message)));
    }
  });

  it('reads the binary broadcast push of vsn 2.0.0', () => {
    expect(decodeFrame('2.0.0', broadcastPush('1', '3', 'realtime:room', 'say', { n: 1 }), true)).toEqual({
      join_ref: '1',
      ref: '3',
      topic: 'realtime:room',
      event: 'broadcast',
      payload: { type: 'broadcast', event: 'say', payload: { n: 1 } },
    });
  });

  it('refuses frames that are not Phoenix messages of the connection serializer', () => {
    const bad: [Parameters<typeof decodeFrame>[0], Buffer, boolean][] = [
      ['1.0.0', Buffer.from('not json'), false],
      ['1.0.0', Buffer.from('[null,"1","t","e",{}]'), false],
      ['2.0.0', Buffer.from('{"topic":"t"}'), false],
      ['2.0.0', Buffer.from('[null,"1","t","e","payload"]'), false],
      ['1.0.0', broadcastPush('1', '2', 't', 'e', {}), true],
      ['2.0.0', Buffer.from([9, 0, 0, 0, 0, 0, 1]), true],
      ['2.0.0', broadcastPush('1', '2', 't', 'e', {}).subarray(0, 9), true],
    ];
    for (const [vsn, frame, binary] of bad) expect(() => decodeFrame(vsn, frame, binary)).toThrow(MalformedFrameError);
  });
});
