// RFC 2047 encoded words ("=?charset?B|Q?text?=") in unstructured header text and display names.
// Adjacent encoded words are joined without the white space between them (§6.2), and their bytes
// are joined before decoding, since a multi-byte character may be split across two words.

const ENCODED_WORD = /=\?([^?\s*]+)(?:\*[^?\s]*)?\?([BbQq])\?([^?\s]*)\?=/g;

function wordBytes(encoding: string, text: string): Buffer {
  if (encoding === "B" || encoding === "b") return Buffer.from(text, "base64");
  // RFC 2047 §4.2: "_" is a space, "=XX" a byte in hex, every other character itself
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === "_") bytes.push(0x20);
    else if (ch === "=" && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(text.charCodeAt(i) & 0xff);
  }
  return Buffer.from(bytes);
}

function decodeCharset(charset: string, bytes: Buffer): string {
  try {
    return new TextDecoder(charset.toLowerCase()).decode(bytes);
  } catch {
    return bytes.toString("latin1"); // a charset Node does not know: show the bytes rather than nothing
  }
}

export function decodeEncodedWords(value: string): string {
  const parts: (string | { charset: string; bytes: Buffer[] })[] = [];
  let last = 0;
  for (const match of value.matchAll(ENCODED_WORD)) {
    const between = value.slice(last, match.index);
    const previous = parts[parts.length - 1];
    const adjacent = last > 0 && typeof previous === "object" && /^[ \t]*$/.test(between);
    const bytes = wordBytes(match[2], match[3]);
    if (adjacent && previous.charset.toLowerCase() === match[1].toLowerCase()) {
      previous.bytes.push(bytes);
    } else {
      if (!adjacent && between) parts.push(between);
      parts.push({ charset: match[1], bytes: [bytes] });
    }
    last = match.index + match[0].length;
  }
  if (last === 0) return value;
  parts.push(value.slice(last));
  return parts.map((p) => (typeof p === "string" ? p : decodeCharset(p.charset, Buffer.concat(p.bytes)))).join("");
}
