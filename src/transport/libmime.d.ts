// libmime ships no types; the dev inbox uses one function of it.
declare module 'libmime' {
  /** libmime exports an instance, so its functions are reached through the default export. */
  const libmime: {
    /** Decodes RFC 2047 encoded-words (`=?UTF-8?Q?…?=`) in a header value. */
    decodeWords(value: string): string;
  };
  export default libmime;
}
