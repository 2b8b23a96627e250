// Base64 with the web's atob and btoa rather than Node's Buffer, which fetch-only runtimes need not have: the HTTP
// API's payloads and page tokens (./http-call.ts, ./http.ts).

export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** Throws a DOMException for text that is not base64. */
export function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}
