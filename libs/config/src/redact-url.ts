/** Returns `value` with the password of every URL in it replaced by `***`, safe to log. */
export function redactUrl(value: string): string {
  return value.replace(/(\/\/[^/:@\s,]*:)[^@\s,]*@/g, '$1***@');
}
