/** The signed-in token, kept for this browser tab only (sessionStorage), and who it is. */
const TOKEN_KEY = 'platform.console.token';

export interface Identity {
  kind: 'platform-admin' | 'org';
  org?: { id: string; slug: string };
  role?: 'admin' | 'member' | 'viewer';
}

export const session = {
  get token(): string | null {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  set token(value: string | null) {
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    else sessionStorage.removeItem(TOKEN_KEY);
  },
  identity: undefined as Identity | undefined,
};
