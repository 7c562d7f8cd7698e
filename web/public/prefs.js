// Preferences and the session token, shared by the console's modules.

export const LANG_KEY = 'dh.console.lang';
export const SOUND_KEY = 'dh.console.sound';

export function readStored(key, fallback) {
  try {
    const v = localStorage.getItem(key);
    return v === null ? fallback : v;
  } catch {
    return fallback;
  }
}
export function writeStored(key, value) {
  try {
    localStorage.setItem(key, value);
  } catch {
    // private mode or storage disabled: the choice just isn't remembered
  }
}

export const prefs = {
  lang: readStored(LANG_KEY, 'ko') === 'en' ? 'en' : 'ko',
  sound: readStored(SOUND_KEY, 'on') !== 'off',
  tz: 'Asia/Seoul', // TZ_DISPLAY from /config.json
  token: null, // kept in memory only; the HttpOnly cookie carries the session otherwise
};
