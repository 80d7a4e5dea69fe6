import { describe, expect, it } from 'vitest';
import { canonicalRequest, EMPTY_PAYLOAD_HASH, sha256Hex, signRequest, uriEncode } from '../src/storage/sigv4.js';

/**
 * AWS's published Signature Version 4 examples: the four S3 examples of "Authenticating Requests: Using the
 * Authorization Header" (credentials AKIAIOSFODNN7EXAMPLE, 2013-05-24, us-east-1, s3) and two cases of the
 * generic SigV4 test suite (AKIDEXAMPLE, 2015-08-30, service "service").
 */
const S3_CREDENTIALS = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
const S3_SCOPE = { region: 'us-east-1', service: 's3', date: new Date('2013-05-24T00:00:00Z') };
const SUITE_CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const SUITE_SCOPE = { region: 'us-east-1', service: 'service', date: new Date('2015-08-30T12:36:00Z') };

function signature(authorization: string | undefined): string {
  return /Signature=([0-9a-f]{64})$/.exec(authorization ?? '')?.[1] ?? '';
}

describe('SigV4 signer against AWS examples', () => {
  it('signs GET Object with a Range header', () => {
    const headers = signRequest(
      {
        method: 'GET',
        url: new URL('https://examplebucket.s3.amazonaws.com/test.txt'),
        headers: { host: 'examplebucket.s3.amazonaws.com', range: 'bytes=0-9', 'x-amz-content-sha256': EMPTY_PAYLOAD_HASH },
        payloadHash: EMPTY_PAYLOAD_HASH,
      },
      S3_CREDENTIALS,
      S3_SCOPE,
    );
    expect(headers['x-amz-date']).toBe('20130524T000000Z');
    expect(headers['authorization']).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, ' +
        'SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
    );
  });

  it('signs PUT Object with a body and an encoded key', () => {
    const payloadHash = sha256Hex('Welcome to Amazon S3.');
    expect(payloadHash).toBe('44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072');
    const request = {
      method: 'PUT',
      url: new URL('https://examplebucket.s3.amazonaws.com/test$file.text'),
      headers: {
        host: 'examplebucket.s3.amazonaws.com',
        date: 'Fri, 24 May 2013 00:00:00 GMT',
        'x-amz-storage-class': 'REDUCED_REDUNDANCY',
        'x-amz-content-sha256': payloadHash,
        'x-amz-date': '20130524T000000Z',
      },
      payloadHash,
    };
    expect(canonicalRequest(request).canonical.split('\n').slice(0, 2)).toEqual(['PUT', '/test%24file.text']);
    expect(signature(signRequest(request, S3_CREDENTIALS, S3_SCOPE)['authorization'])).toBe('98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd');
  });

  it('signs GET Bucket Lifecycle (a valueless query parameter) and List Objects (sorted query)', () => {
    const headers = { host: 'examplebucket.s3.amazonaws.com', 'x-amz-content-sha256': EMPTY_PAYLOAD_HASH };
    const lifecycle = signRequest({ method: 'GET', url: new URL('https://examplebucket.s3.amazonaws.com/?lifecycle'), headers, payloadHash: EMPTY_PAYLOAD_HASH }, S3_CREDENTIALS, S3_SCOPE);
    expect(signature(lifecycle['authorization'])).toBe('fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543');
    const list = signRequest({ method: 'GET', url: new URL('https://examplebucket.s3.amazonaws.com/?max-keys=2&prefix=J'), headers, payloadHash: EMPTY_PAYLOAD_HASH }, S3_CREDENTIALS, S3_SCOPE);
    expect(signature(list['authorization'])).toBe('34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7');
  });

  it('passes the generic test suite cases get-vanilla and get-vanilla-query-order-key-case', () => {
    const vanilla = signRequest({ method: 'GET', url: new URL('https://example.amazonaws.com/'), headers: { host: 'example.amazonaws.com' }, payloadHash: EMPTY_PAYLOAD_HASH }, SUITE_CREDENTIALS, SUITE_SCOPE);
    expect(vanilla['authorization']).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
    );
    const ordered = signRequest(
      { method: 'GET', url: new URL('https://example.amazonaws.com/?Param2=value2&Param1=value1'), headers: { host: 'example.amazonaws.com' }, payloadHash: EMPTY_PAYLOAD_HASH },
      SUITE_CREDENTIALS,
      SUITE_SCOPE,
    );
    expect(signature(ordered['authorization'])).toBe('b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500');
  });

  it('encodes like RFC 3986 (not like encodeURIComponent) and signs session tokens', () => {
    expect(uriEncode("a b!'()*~._-/é", false)).toBe('a%20b%21%27%28%29%2A~._-%2F%C3%A9');
    expect(uriEncode('dir/file name', true)).toBe('dir/file%20name');
    const headers = signRequest(
      { method: 'GET', url: new URL('https://example.amazonaws.com/'), headers: { host: 'example.amazonaws.com' }, payloadHash: EMPTY_PAYLOAD_HASH },
      { ...SUITE_CREDENTIALS, sessionToken: 'token' },
      SUITE_SCOPE,
    );
    expect(headers['x-amz-security-token']).toBe('token');
    expect(headers['authorization']).toContain('SignedHeaders=host;x-amz-date;x-amz-security-token,');
  });
});
