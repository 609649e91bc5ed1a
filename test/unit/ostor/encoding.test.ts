// The pure pieces: RFC 3986 query building, S3 paths, the DeleteObjects body, XML text decoding
// and lossless JSON.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  buildOstorQuery,
  encodeQuery,
  encodeRfc3986,
  FLAG,
  s3Path,
  toV4Query,
} from '../../../shared/ostor/query.ts';
import { contentMd5, decodeXmlText, deleteObjectsXml, escapeXml } from '../../../shared/ostor/s3.ts';
import { parseGatewayJson } from '../../../shared/ostor/schemas.ts';

describe('query', () => {
  it('encodes every reserved character, so + travels as %2B and & as %26', () => {
    expect(encodeRfc3986("a+b&c=d#e%f?g/h@i!j'k(l)m*n o~p-q_r.s")).toBe(
      'a%2Bb%26c%3Dd%23e%25f%3Fg%2Fh%40i%21j%27k%28l%29m%2An%20o~p-q_r.s',
    );
    expect(encodeRfc3986('ü＠')).toBe('%C3%BC%EF%BC%A0');
  });

  it('builds the service first, then the parameters in order, flags without a value', () => {
    expect(
      buildOstorQuery('users', [
        ['emailAddress', 'a+b@example.com'],
        ['accountName', 'acct'],
        ['genKey', FLAG],
      ]),
    ).toBe('ostor-users&emailAddress=a%2Bb%40example.com&accountName=acct&genKey');
    expect(encodeQuery([])).toBe('');
    expect(encodeQuery([['after', '']])).toBe('after=');
  });

  it('gives V4 the decoded values, a flag as an empty string', () => {
    expect(
      toV4Query([
        ['ostor-users', FLAG],
        ['emailAddress', 'a+b@example.com'],
        ['genKey', FLAG],
      ]),
    ).toEqual({ 'ostor-users': '', emailAddress: 'a+b@example.com', genKey: '' });
  });

  it('encodes S3 paths per segment, keeping the slashes', () => {
    expect(s3Path('bucket')).toBe('/bucket');
    expect(s3Path('bucket', 'dir/a b+c?&/ü')).toBe('/bucket/dir/a%20b%2Bc%3F%26/%C3%BC');
    expect(s3Path('bucket', '/lead')).toBe('/bucket//lead');
  });
});

describe('DeleteObjects body', () => {
  it('escapes XML metacharacters and keeps CR, LF and tab as references', () => {
    expect(escapeXml(`<a href="x">'&'</a>\r\n\t`)).toBe(
      '&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;&#xD;&#xA;&#x9;',
    );
    expect(deleteObjectsXml(['a&b', 'c'])).toBe(
      '<?xml version="1.0" encoding="UTF-8"?><Delete><Quiet>false</Quiet>' +
        '<Object><Key>a&amp;b</Key></Object><Object><Key>c</Key></Object></Delete>',
    );
  });

  it('computes Content-MD5 as base64 of the MD5 of the UTF-8 body', () => {
    const body = deleteObjectsXml(['ü']);
    expect(contentMd5(body)).toBe(createHash('md5').update(Buffer.from(body, 'utf8')).digest('base64'));
    expect(contentMd5('')).toBe('1B2M2Y8AsgTpgAmY7PhCfg==');
  });

  it('decodes entities and character references, leaving unknown ones alone', () => {
    expect(decodeXmlText('a&amp;b&lt;&gt;&quot;&apos;&#13;&#x41;&#x1F600;&nbsp;&#x110000;')).toBe(
      'a&b<>"\'\rA😀&nbsp;&#x110000;',
    );
  });
});

describe('lossless JSON', () => {
  it('keeps service_id as its digits and other integers beyond 2^53 as bigints', () => {
    expect(
      parseGatewayJson(
        '{"service_id":8000000000000065,"a":9007199254740993,"b":9007199254740991,"c":1.5,"d":"x"}',
      ),
    ).toEqual({ service_id: '8000000000000065', a: 9007199254740993n, b: 9007199254740991, c: 1.5, d: 'x' });
  });

  it('throws on broken JSON', () => {
    expect(() => parseGatewayJson('{"UserEmail": "user@example.com", "UserId": "ca55')).toThrow(SyntaxError);
  });
});
