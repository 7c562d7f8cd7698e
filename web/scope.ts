import type { Staff } from '../core/schemas/registry.js';

/** null = every dong (admins and `["*"]`). */
export function scopeDongs(staff: Staff): readonly string[] | null {
  return staff.role === 'admin' || staff.dongs.includes('*') ? null : staff.dongs;
}

export function inScope(staff: Staff, dong: string): boolean {
  const dongs = scopeDongs(staff);
  return dongs === null || dongs.includes(dong);
}
