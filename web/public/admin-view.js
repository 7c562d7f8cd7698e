// Administration (#/admin, admins only): register and change residents, devices and staff
// (CONTRACT §6). A new device's secret is shown once, as text, and never kept by the page.

import { api, HttpError } from './api.js';
import { el } from './dom.js';
import { label, t } from './i18n.js';

const DEVICE_KINDS = ['bp_monitor', 'glucometer', 'pulse_oximeter', 'thermometer', 'scale', 'smart_band', 'smart_plug', 'door_sensor', 'motion_sensor', 'button', 'gateway'];
const ROLES = ['staff', 'nurse', 'health_center', 'admin'];

/** ctx: { root, sessionExpired(), onResidentsChanged() } */
export function createAdminView(ctx) {
  const view = {
    shown: false,
    loaded: false, // the forms wait for the lists: a re-render when they arrived ate what was typed meanwhile
    residents: [],
    staff: [],
    devices: [],
    deviceResidentId: '',
    editingResident: null, // resident id being edited
    editingStaff: null, // username being edited
    secret: null, // { id, secret } of the device just registered; cleared on "done" or leaving the page
    messages: {}, // form name -> { kind: 'ok' | 'error', text }
  };

  function handleError(err, formName) {
    if (err instanceof HttpError && err.status === 401) {
      ctx.sessionExpired();
      return;
    }
    let text;
    if (err instanceof HttpError && err.status === 400) {
      const field = err.field ? label('field', err.field.split('.')[0]) : '';
      text = field ? t('fieldError', { field, message: err.message }) : `${t('errBadRequest')} (${err.message})`;
    } else if (err instanceof HttpError && err.status === 403) text = t('errForbidden');
    else if (err instanceof HttpError && err.status === 409) text = `${t('errConflictCreate')} (${err.message})`;
    else if (err instanceof HttpError && err.status === 0) text = t('errNetwork');
    else text = t('errGeneric');
    view.messages[formName] = { kind: 'error', text, field: err instanceof HttpError ? err.field : null };
    // In place: what the admin typed stays in the form.
    const form = ctx.root.querySelector(`form[data-admin="${formName}"]`);
    if (!form) {
      render();
      return;
    }
    const node = form.querySelector('.form-message');
    node.className = 'form-message is-error';
    node.textContent = text;
    node.hidden = false;
    for (const x of form.querySelectorAll('[aria-invalid]')) x.removeAttribute('aria-invalid');
    markInvalid(form, formName);
  }

  async function loadAll(...only) {
    try {
      const [residents, staff] = await Promise.all([api('GET', '/api/residents'), api('GET', '/api/staff')]);
      view.residents = residents.residents || [];
      view.staff = staff.staff || [];
      if (!view.deviceResidentId && view.residents.length) view.deviceResidentId = view.residents[0].id;
      await loadDevices();
    } catch (err) {
      handleError(err, 'load');
      return;
    }
    view.loaded = true;
    if (only.length) renderSections(...only);
    else render();
  }

  async function loadDevices() {
    if (!view.deviceResidentId) {
      view.devices = [];
      return;
    }
    const res = await api('GET', `/api/devices?residentId=${encodeURIComponent(view.deviceResidentId)}`);
    view.devices = res.devices || [];
  }

  // ---------------------------------------------------------------------------
  // Submitting

  const value = (form, name) => {
    const input = form.elements.namedItem(name);
    return input ? input.value.trim() : '';
  };
  const optionalNumber = (text) => (text === '' ? undefined : Number(text));

  async function submitResident(form) {
    const body = {
      displayName: value(form, 'displayName'),
      dong: value(form, 'dong'),
      phone: value(form, 'phone'),
      birthYear: optionalNumber(value(form, 'birthYear')),
      inactivityHours: optionalNumber(value(form, 'inactivityHours')),
    };
    const editing = view.editingResident;
    // A new resident leaves out what is blank; an edit sends the phone even when cleared.
    if (!editing && !body.phone) delete body.phone;
    for (const k of ['birthYear', 'inactivityHours']) if (body[k] === undefined) delete body[k];
    try {
      if (editing) await api('PATCH', `/api/residents/${encodeURIComponent(editing)}`, body);
      else await api('POST', '/api/residents', body);
      view.messages.resident = { kind: 'ok', text: t(editing ? 'saved' : 'created') };
      view.editingResident = null;
      ctx.onResidentsChanged();
      await loadAll('residents', 'devices');
    } catch (err) {
      handleError(err, 'resident');
    }
  }

  async function submitDevice(form) {
    const body = { residentId: value(form, 'residentId'), kind: value(form, 'kind') };
    const minutes = optionalNumber(value(form, 'offlineAfterMinutes'));
    if (minutes !== undefined) body.offlineAfterMinutes = minutes;
    try {
      const created = await api('POST', '/api/devices', body);
      view.secret = { id: created.id, secret: created.secret };
      view.messages.device = { kind: 'ok', text: t('created') };
      view.deviceResidentId = body.residentId;
      await loadDevices();
      renderSections('devices');
    } catch (err) {
      handleError(err, 'device');
    }
  }

  async function submitStaff(form) {
    const dongs = value(form, 'dongs').split(/[,\s]+/).filter(Boolean);
    const editing = view.editingStaff;
    const body = { displayName: value(form, 'displayName'), role: value(form, 'role'), dongs };
    const password = form.elements.namedItem('password').value;
    if (!editing) {
      body.username = value(form, 'username');
      body.password = password;
    } else if (password) body.password = password;
    try {
      if (editing) await api('PATCH', `/api/staff/${encodeURIComponent(editing)}`, body);
      else await api('POST', '/api/staff', body);
      view.messages.staff = { kind: 'ok', text: t(editing ? 'saved' : 'created') };
      view.editingStaff = null;
      await loadAll('staff');
    } catch (err) {
      handleError(err, 'staff');
    }
  }

  async function toggleResident(id, enabled) {
    try {
      await api('PATCH', `/api/residents/${encodeURIComponent(id)}`, { enabled });
      ctx.onResidentsChanged();
      await loadAll('residents', 'devices');
    } catch (err) {
      handleError(err, 'resident');
    }
  }

  async function toggleDevice(id, enabled) {
    try {
      await api('PATCH', `/api/devices/${encodeURIComponent(id)}`, { enabled });
      await loadDevices();
      renderSections('devices');
    } catch (err) {
      handleError(err, 'device');
    }
  }

  // ---------------------------------------------------------------------------
  // Rendering

  function field(labelKey, input) {
    return el('label', { className: 'field' }, [el('span', { text: t(labelKey) }), input]);
  }
  function input(name, attrs = {}) {
    return el('input', { attrs: { name, autocomplete: 'off', spellcheck: 'false', ...attrs } });
  }
  function select(name, options, selected, attrs = {}) {
    const node = el('select', { attrs: { name, ...attrs } }, options.map(([v, text]) => el('option', { text, attrs: { value: v } })));
    node.value = selected;
    return node;
  }
  function message(formName) {
    const m = view.messages[formName];
    return el('p', { className: `form-message ${m ? `is-${m.kind}` : ''}`, text: m ? m.text : '', attrs: { role: 'status', hidden: !m } });
  }
  function markInvalid(form, formName) {
    const m = view.messages[formName];
    if (!m || m.kind !== 'error' || !m.field) return;
    const target = form.elements.namedItem(m.field.split('.')[0]);
    if (target && target.setAttribute) target.setAttribute('aria-invalid', 'true');
  }

  function residentForm() {
    const editing = view.editingResident ? view.residents.find((r) => r.id === view.editingResident) : null;
    const form = el('form', { className: 'admin-form', attrs: { novalidate: true }, data: { admin: 'resident' } }, [
      field('fDisplayName', input('displayName', { maxlength: '100', required: true, value: editing ? editing.displayName : '' })),
      field('fDongCode', input('dong', { maxlength: '32', required: true, placeholder: '1111051500', value: editing ? editing.dong : '' })),
      field('fPhone', input('phone', { maxlength: '30', inputmode: 'tel', value: editing && editing.phone ? editing.phone : '' })),
      el('div', { className: 'field-row' }, [
        field('fBirth', input('birthYear', { inputmode: 'numeric', maxlength: '4', value: editing && editing.birthYear ? editing.birthYear : '' })),
        field('fInactivityHours', input('inactivityHours', { inputmode: 'decimal', placeholder: '24', value: editing ? editing.inactivityHours : '' })),
      ]),
      message('resident'),
      el('div', { className: 'form-buttons' }, [
        el('button', { className: 'btn btn-primary', text: t(editing ? 'save' : 'register'), attrs: { type: 'submit' } }),
        editing ? el('button', { className: 'btn btn-quiet', text: t('cancelEdit'), attrs: { type: 'button' }, data: { cancel: 'resident' } }) : null,
      ]),
    ]);
    markInvalid(form, 'resident');
    return form;
  }

  function residentTable() {
    if (view.residents.length === 0) return el('p', { className: 'muted', text: t('residentsEmpty') });
    return el('table', { className: 'table' }, [
      el('thead', {}, [el('tr', {}, ['colName', 'colDong', 'fResidentId', 'colEnabled', ''].map((k) => el('th', { text: k ? t(k) : '' })))]),
      el('tbody', {}, view.residents.map((r) => el('tr', { className: r.enabled === false ? 'is-disabled' : '', data: { residentId: r.id } }, [
        el('td', {}, [el('a', { className: 'name', text: r.displayName, attrs: { href: `#/residents/${encodeURIComponent(r.id)}` } })]),
        el('td', { text: r.dong }),
        el('td', {}, [el('code', { className: 'rid', text: r.id })]),
        el('td', { text: t(r.enabled === false ? 'enabledOff' : 'enabledOn') }),
        el('td', { className: 'row-actions' }, [
          el('button', { className: 'btn btn-small', text: t('edit'), attrs: { type: 'button' }, data: { editResident: r.id } }),
          el('button', { className: 'btn btn-small btn-quiet', text: t(r.enabled === false ? 'enable' : 'disable'), attrs: { type: 'button' }, data: { toggleResident: r.id, enabled: r.enabled === false ? '1' : '0' } }),
        ]),
      ]))),
    ]);
  }

  function deviceForm() {
    const residentOptions = [['', t('chooseResident')], ...view.residents.map((r) => [r.id, `${r.displayName} · ${r.dong} · ${r.id}`])];
    const form = el('form', { className: 'admin-form', attrs: { novalidate: true }, data: { admin: 'device' } }, [
      field('fResidentSelect', select('residentId', residentOptions, view.deviceResidentId, { required: true })),
      field('fDeviceKind', select('kind', DEVICE_KINDS.map((k) => [k, label('deviceKind', k)]), 'pulse_oximeter')),
      field('fOfflineMinutes', input('offlineAfterMinutes', { inputmode: 'numeric' })),
      message('device'),
      el('div', { className: 'form-buttons' }, [el('button', { className: 'btn btn-primary', text: t('register'), attrs: { type: 'submit' } })]),
    ]);
    markInvalid(form, 'device');
    return form;
  }

  function secretBox() {
    if (!view.secret) return null;
    return el('div', { className: 'secret-box', attrs: { role: 'alert', id: 'device-secret' } }, [
      el('strong', { text: t('secretTitle') }),
      el('p', { className: 'muted', text: t('secretHelp') }),
      el('dl', { className: 'detail-grid' }, [
        el('dt', { text: t('fDeviceId') }), el('dd', {}, [el('code', { className: 'secret-id', text: view.secret.id })]),
        el('dt', { text: t('fSecret') }), el('dd', {}, [el('code', { className: 'secret-value', text: view.secret.secret })]),
      ]),
      el('button', { className: 'btn', text: t('secretDone'), attrs: { type: 'button' }, data: { secretDone: '1' } }),
    ]);
  }

  function deviceTable() {
    if (view.devices.length === 0) return el('p', { className: 'muted', text: t('devicesEmpty') });
    return el('table', { className: 'table' }, [
      el('thead', {}, [el('tr', {}, ['colKind', 'colDevice', 'colConn', ''].map((k) => el('th', { text: k ? t(k) : '' })))]),
      el('tbody', {}, view.devices.map((d) => el('tr', { className: d.enabled ? '' : 'is-disabled', data: { deviceId: d.id } }, [
        el('td', { text: label('deviceKind', d.kind) }),
        el('td', {}, [el('code', { className: 'rid', text: d.id })]),
        el('td', { text: d.enabled ? label('conn', d.status ? d.status.connectivity : 'unknown') : t('deviceDisabled') }),
        el('td', { className: 'row-actions' }, [
          el('button', { className: 'btn btn-small btn-quiet', text: t(d.enabled ? 'disable' : 'enable'), attrs: { type: 'button' }, data: { toggleDevice: d.id, enabled: d.enabled ? '0' : '1' } }),
        ]),
      ]))),
    ]);
  }

  function staffForm() {
    const editing = view.editingStaff ? view.staff.find((s) => s.username === view.editingStaff) : null;
    const form = el('form', { className: 'admin-form', attrs: { novalidate: true }, data: { admin: 'staff' } }, [
      field('fUsername', input('username', { maxlength: '64', required: true, value: editing ? editing.username : '', readonly: Boolean(editing) })),
      field(editing ? 'fPasswordNew' : 'fPassword', input('password', { type: 'password', autocomplete: 'new-password', maxlength: '200' })),
      field('fDisplayName', input('displayName', { maxlength: '100', required: true, value: editing ? editing.displayName : '' })),
      el('div', { className: 'field-row' }, [
        field('fRole', select('role', ROLES.map((r) => [r, label('role', r)]), editing ? editing.role : 'staff')),
        field('fDongs', input('dongs', { placeholder: '1111051500, 1111053000', value: editing ? editing.dongs.join(', ') : '' })),
      ]),
      message('staff'),
      el('div', { className: 'form-buttons' }, [
        el('button', { className: 'btn btn-primary', text: t(editing ? 'save' : 'register'), attrs: { type: 'submit' } }),
        editing ? el('button', { className: 'btn btn-quiet', text: t('cancelEdit'), attrs: { type: 'button' }, data: { cancel: 'staff' } }) : null,
      ]),
    ]);
    markInvalid(form, 'staff');
    return form;
  }

  function staffTable() {
    return el('table', { className: 'table' }, [
      el('thead', {}, [el('tr', {}, ['fUsername', 'fDisplayName', 'fRole', 'colDong', ''].map((k) => el('th', { text: k ? t(k) : '' })))]),
      el('tbody', {}, view.staff.map((s) => el('tr', { data: { username: s.username } }, [
        el('td', {}, [el('code', { text: s.username })]),
        el('td', { text: s.displayName }),
        el('td', { text: label('role', s.role) }),
        el('td', { text: s.dongs.join(', ') }),
        el('td', { className: 'row-actions' }, [
          el('button', { className: 'btn btn-small', text: t('edit'), attrs: { type: 'button' }, data: { editStaff: s.username } }),
        ]),
      ]))),
    ]);
  }

  function adminSection(id, titleKey, form, listTitleKey, list, extra) {
    return el('section', { className: 'panel admin-section', attrs: { id } }, [
      el('h3', { className: 'panel-title', text: t(titleKey) }),
      el('div', { className: 'admin-grid' }, [
        el('div', {}, [form, extra]),
        el('div', {}, [el('h4', { className: 'list-title', text: t(listTitleKey) }), list]),
      ]),
    ]);
  }

  const sections = {
    residents: () => adminSection('admin-residents', 'adminResidents', residentForm(), 'adminResidentList', residentTable()),
    devices: () => adminSection('admin-devices', 'adminDevices', deviceForm(), 'adminDeviceList', deviceTable(), secretBox()),
    staff: () => adminSection('admin-staff', 'adminStaff', staffForm(), 'adminStaffList', staffTable()),
  };

  function render() {
    if (!view.shown) return;
    const load = view.messages.load;
    ctx.root.replaceChildren(
      el('div', { className: 'page-head' }, [el('h2', { text: t('adminTitle') })]),
      load ? el('p', { className: 'banner', text: load.text }) : null,
      ...(view.loaded
        ? [sections.residents(), sections.devices(), sections.staff()]
        : [load ? null : el('p', { className: 'muted', text: t('adminLoading') })]),
    );
  }

  /** Re-renders some sections only, so what is typed in the others stays. */
  function renderSections(...names) {
    if (!view.shown) return;
    for (const name of names) {
      const current = ctx.root.querySelector(`#admin-${name}`);
      if (current) current.replaceWith(sections[name]());
    }
  }

  ctx.root.addEventListener('submit', (e) => {
    const form = e.target.closest('form[data-admin]');
    if (!form) return;
    e.preventDefault();
    for (const b of form.querySelectorAll('button')) b.disabled = true;
    const kind = form.dataset.admin;
    delete view.messages[kind];
    const run = kind === 'resident' ? submitResident : kind === 'device' ? submitDevice : submitStaff;
    void run(form).finally(() => {
      for (const b of form.querySelectorAll('button')) b.disabled = false;
    });
  });

  ctx.root.addEventListener('change', (e) => {
    if (e.target.matches('form[data-admin="device"] [name="residentId"]') && e.target.value) {
      view.deviceResidentId = e.target.value;
      view.secret = null;
      loadDevices().then(() => renderSections('devices'), (err) => handleError(err, 'device'));
    }
  });

  ctx.root.addEventListener('click', (e) => {
    const b = e.target.closest('button');
    if (!b || b.type === 'submit') return;
    const d = b.dataset;
    if (d.editResident) {
      view.editingResident = d.editResident;
      delete view.messages.resident;
      renderSections('residents');
      ctx.root.querySelector('form[data-admin="resident"] [name="displayName"]').focus();
    } else if (d.editStaff) {
      view.editingStaff = d.editStaff;
      delete view.messages.staff;
      renderSections('staff');
      ctx.root.querySelector('form[data-admin="staff"] [name="displayName"]').focus();
    } else if (d.cancel === 'resident') {
      view.editingResident = null;
      renderSections('residents');
    } else if (d.cancel === 'staff') {
      view.editingStaff = null;
      renderSections('staff');
    } else if (d.toggleResident) void toggleResident(d.toggleResident, d.enabled === '1');
    else if (d.toggleDevice) void toggleDevice(d.toggleDevice, d.enabled === '1');
    else if (d.secretDone) {
      view.secret = null;
      renderSections('devices');
    }
  });

  return {
    show() {
      view.shown = true;
      view.loaded = false;
      render();
      void loadAll();
    },
    hide() {
      view.shown = false;
      view.secret = null; // the secret is never shown twice
      ctx.root.replaceChildren();
    },
    rerender: render,
  };
}
