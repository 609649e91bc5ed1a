// Errors the emulated gateway answers with. Each carries the HTTP status, an S3-style error code
// for the XML body and the human message the real gateway sends in `X-Amz-Err-Message`.

export class GatewayError extends Error {
  readonly status: number;
  readonly code: string;
  /** Extra elements of the XML body (S3 adds StringToSign, RequestTime, ...). */
  details: Readonly<Record<string, string>> = {};
  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'GatewayError';
    this.status = status;
    this.code = code;
  }
}

export const badRequest = (message: string, code = 'InvalidArgument'): GatewayError =>
  new GatewayError(400, code, message);

export const accessDenied = (message: string, code = 'AccessDenied'): GatewayError =>
  new GatewayError(403, code, message);

export const notFound = (code: string, message: string): GatewayError => new GatewayError(404, code, message);

export const conflict = (code: string, message: string): GatewayError => new GatewayError(409, code, message);

export const methodNotAllowed = (method: string, what: string): GatewayError =>
  new GatewayError(405, 'MethodNotAllowed', `The method ${method} is not allowed for ${what}`);

export const notImplemented = (what: string): GatewayError =>
  new GatewayError(501, 'NotImplemented', `${what} is not implemented by the emulated gateway`);

const XML_ENTITIES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};

/**
 * True for a UTF-16 unit written as a numeric reference: those XML 1.0 cannot carry as text (C0
 * controls but tab and LF; U+FFFE, U+FFFF) and CR, which a parser would turn into LF.
 */
function needsReference(code: number): boolean {
  return (code < 0x20 && code !== 0x09 && code !== 0x0a) || code === 0xfffe || code === 0xffff;
}

/** Escapes text for XML 1.0 element content; characters XML 1.0 cannot carry become numeric references (as S3 does). */
export function escapeXml(text: string): string {
  let out = '';
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    const code = text.charCodeAt(i);
    const entity =
      XML_ENTITIES[ch] ?? (needsReference(code) ? `&#x${code.toString(16).toUpperCase()};` : undefined);
    if (entity === undefined) continue;
    out += text.slice(from, i) + entity;
    from = i + 1;
  }
  return from === 0 ? text : out + text.slice(from);
}

/**
 * Makes a message safe for an HTTP header value: node refuses CR, LF and characters above U+00FF,
 * and user input (emails, bucket names) can hold any of them. Non-printable and non-ASCII
 * characters are written as \uXXXX so the header stays readable and one line.
 */
export function headerSafe(message: string): string {
  return message.replace(/[^\u0020-\u007e]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function errorXml(
  code: string,
  message: string,
  resource: string,
  requestId: string,
  details: Readonly<Record<string, string>> = {},
): string {
  const extra = Object.entries(details)
    .map(([name, value]) => `<${name}>${escapeXml(value)}</${name}>`)
    .join('');
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error><Code>${escapeXml(code)}</Code><Message>${escapeXml(message)}</Message>` +
    `<Resource>${escapeXml(resource)}</Resource><RequestId>${requestId}</RequestId>${extra}</Error>`
  );
}
