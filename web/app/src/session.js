// The token lives in sessionStorage: it is gone when the tab closes, is
// not sent with every request as a cookie would be (no CSRF), and is not
// shared with other tabs as localStorage would be, so each tab is its own
// session (two tabs, two users).
const KEY = "companyapi.token";

export const session = {
  get token() {
    return sessionStorage.getItem(KEY);
  },
  set(token) {
    sessionStorage.setItem(KEY, token);
  },
  clear() {
    sessionStorage.removeItem(KEY);
  },
};
