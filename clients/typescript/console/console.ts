// The web console: a seeker pane and a provider pane, each a client of its own built on
// the SDK (a TetherSession keeps each pane's view of the session, a LocationReporter sends
// its fixes as the server's cadence asks), a grid map between them where dragging a party
// is that party's device reporting fixes, and the session's timeline, its hash chain
// verified here in the browser (WebCrypto SHA-256 over RFC 8785 JSON, the server's rules).
// Built by scripts/build-console.mjs into services/ws-edge/console/console.js (served at
// /console/); the page it runs in (the #seeker, #provider, #map and #timeline elements) and
// its stylesheet are services/ws-edge/console/index.html and console.css.

import {
  LocationReporter,
  ProviderClient,
  SeekerClient,
  TetherApi,
  TetherError,
  TetherSession,
  tokenExpiryMs,
  verifyTimeline,
  type ArrivalStage,
  type Mediums,
  type Role,
  type ServerWorkAssigned,
  type SessionChangeCause,
  type SessionMessage,
  type SessionTimeline,
  type StateInfo,
  type TimelineEvent,
} from '../src/index.js';

// ---- tiny DOM helpers ----

type Child = Node | string | null | undefined | false;

function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | boolean | ((event: Event) => void)> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (typeof value === 'function') element.addEventListener(key.slice(2), value);
    else if (value === true) element.setAttribute(key, '');
    else if (value !== false) element.setAttribute(key, value);
  }
  for (const child of children) if (child) element.append(child);
  return element;
}

const input = (testId: string, value = '', placeholder = '') =>
  h('input', { type: 'text', 'data-testid': testId, value, placeholder });

const svgNs = 'http://www.w3.org/2000/svg';
function svg(tag: string, attrs: Record<string, string | number>): SVGElement {
  const element = document.createElementNS(svgNs, tag);
  for (const [key, value] of Object.entries(attrs)) element.setAttribute(key, String(value));
  return element;
}

// ---- the map: 360 px square, one 36 px square is 100 m, centred on a fixed point ----

const CENTER = { latitude: 52.52, longitude: 13.405 };
const METERS_PER_PX = 100 / 36;
const METERS_PER_DEG_LAT = 111_320;

interface Point {
  x: number;
  y: number;
}

function toLatLon(p: Point): { latitude: number; longitude: number } {
  const north = (180 - p.y) * METERS_PER_PX;
  const east = (p.x - 180) * METERS_PER_PX;
  const latitude = CENTER.latitude + north / METERS_PER_DEG_LAT;
  const longitude = CENTER.longitude + east / (METERS_PER_DEG_LAT * Math.cos((CENTER.latitude * Math.PI) / 180));
  // Six decimals (~0.1 m) is all a phone reports.
  return { latitude: Number(latitude.toFixed(6)), longitude: Number(longitude.toFixed(6)) };
}

type MoveListener = (role: Role, point: Point, final: boolean) => void;

class GridMap {
  readonly positions: Record<Role, Point> = { seeker: { x: 90, y: 270 }, provider: { x: 270, y: 90 } };
  readonly #markers = {} as Record<Role, SVGGElement>;
  readonly #link: SVGElement;
  #listener: MoveListener = () => {};

  constructor(readonly root: SVGSVGElement) {
    for (let i = 0; i <= 360; i += 36) {
      root.append(svg('line', { x1: i, y1: 0, x2: i, y2: 360 }), svg('line', { x1: 0, y1: i, x2: 360, y2: i }));
    }
    this.#link = svg('line', { class: 'link' });
    root.append(this.#link);
    for (const role of ['seeker', 'provider'] as const) {
      const marker = svg('g', { class: 'marker', 'data-testid': `marker-${role}` }) as SVGGElement;
      marker.append(
        svg('circle', { r: 13, fill: role === 'seeker' ? 'var(--seeker)' : 'var(--provider)' }),
        Object.assign(svg('text', {}), { textContent: role === 'seeker' ? 'S' : 'P' }),
      );
      root.append(marker);
      this.#markers[role] = marker;
      this.#drag(role, marker);
    }
    this.#render();
  }

  onMove(listener: MoveListener): void {
    this.#listener = listener;
  }

  #drag(role: Role, marker: SVGGElement): void {
    let lastSent = 0;
    const at = (event: PointerEvent): Point => {
      const box = this.root.getBoundingClientRect();
      const clamp = (v: number) => Math.max(0, Math.min(360, v));
      return { x: clamp(((event.clientX - box.left) * 360) / box.width), y: clamp(((event.clientY - box.top) * 360) / box.height) };
    };
    marker.addEventListener('pointerdown', (event) => {
      marker.setPointerCapture(event.pointerId);
      const move = (e: PointerEvent) => {
        this.positions[role] = at(e);
        this.#render();
        // While dragging, at most a few updates a second (the edge rate-limits sockets).
        if (Date.now() - lastSent > 250) {
          lastSent = Date.now();
          this.#listener(role, this.positions[role], false);
        }
      };
      const up = (e: PointerEvent) => {
        move(e);
        marker.removeEventListener('pointermove', move);
        marker.removeEventListener('pointerup', up);
        this.#listener(role, this.positions[role], true);
      };
      marker.addEventListener('pointermove', move);
      marker.addEventListener('pointerup', up);
    });
  }

  #render(): void {
    for (const role of ['seeker', 'provider'] as const) {
      const { x, y } = this.positions[role];
      this.#markers[role].setAttribute('transform', `translate(${x} ${y})`);
    }
    const { seeker: s, provider: p } = this.positions;
    for (const [k, v] of Object.entries({ x1: s.x, y1: s.y, x2: p.x, y2: p.y })) this.#link.setAttribute(k, String(v));
  }
}

// ---- what the protocol says, in words ----

const STAGE_TEXT: Record<ArrivalStage, string> = {
  approaching_500: 'within 500 m',
  approaching_100: 'within 100 m',
  arrived: 'arrived',
};

function durationText(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${seconds % 60} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

function timeText(at: string | null | undefined): string {
  return at ? new Date(at).toLocaleTimeString() : 'never';
}

function trendText(session: TetherSession): string {
  const distance = session.distance;
  if (!distance) return '—';
  switch (distance.trend) {
    case null:
      return '— (after 20 s of distances)';
    case 'approaching':
      return distance.etaSeconds === null ? 'approaching' : `approaching · ETA ${durationText(distance.etaSeconds)}`;
    case 'moving_away':
      return 'moving away';
    case 'stationary':
      return 'stationary';
  }
}

function cadenceText(session: TetherSession): string {
  const cadence = session.cadence;
  if (!cadence) return session.state === 'active' ? 'not announced (servers send it from protocol 1.2)' : '—';
  if (cadence.interval_s <= 0) return `${cadence.band} · stop sending fixes`;
  return `${cadence.band} · a fix every ${cadence.interval_s} s after ${cadence.min_move_m} m`;
}

function receiptText(message: SessionMessage): string {
  if (message.error) return `✗ ${message.error.code}`;
  if (message.pending) return '…';
  return message.delivery_status === 'read' ? '✓✓ read' : message.delivery_status === 'delivered' ? '✓✓ delivered' : '✓ sent';
}

// ---- one pane per role ----

const MEDIUMS = ['telegram', 'whatsapp', 'call'] as const;

class Pane {
  readonly client: SeekerClient | ProviderClient;
  readonly api: TetherApi;
  /** This pane's view of its session, kept current by the SDK. */
  readonly session: TetherSession;
  /** Sends this party's map position as the server's cadence asks. */
  readonly reporter: LocationReporter;
  readonly #el: Record<string, HTMLElement> = {};
  readonly #tokenBox: HTMLInputElement;
  /** Incoming messages asked to be marked read (each once). */
  readonly #read = new Set<string>();
  #typingTimer: ReturnType<typeof setTimeout> | undefined;
  #typing = false;

  constructor(
    readonly role: Role,
    readonly root: HTMLElement,
    readonly map: GridMap,
    token: string,
  ) {
    const base = location.origin;
    // A password field: tokens stay off screenshots and screen shares.
    this.#tokenBox = h('input', { type: 'password', class: 'token', 'data-testid': 'token', autocomplete: 'off', placeholder: 'paste a JWT' });
    this.#tokenBox.value = token;
    const tokenProvider = () => this.#tokenBox.value.trim();
    const options = { url: base, token: tokenProvider };
    this.client = role === 'seeker' ? new SeekerClient(options) : new ProviderClient(options);
    this.api = new TetherApi(options);
    // With the API, the session reads the snapshot and history when it is taken up and
    // after every reconnect (also after a reload).
    this.session = new TetherSession(this.client, { api: this.api });
    this.reporter = new LocationReporter(this.session, { onError: (error) => this.#fail(error) });
    this.#build();
    this.#wire();
    if (token) this.connect();
  }

  get sessionId(): string | null {
    return this.session.id;
  }

  #build(): void {
    const el = this.#el;
    const title = this.role === 'seeker' ? 'Seeker' : 'Provider';
    const peer = this.role === 'seeker' ? 'provider' : 'seeker';
    el.state = h('span', { class: 'badge', 'data-testid': 'state', 'data-state': 'idle' }, 'idle');
    el.who = h('span', { class: 'muted', 'data-testid': 'who' });
    el.error = h('div', { class: 'error', 'data-testid': 'error', role: 'alert' });
    el.name = input('name', `Demo ${title}`);
    el.mobile = input('mobile', this.role === 'seeker' ? '+4915100000001' : '+4915100000002');
    el.serviceType = input('service-type', 'plumbing');
    el.sessionState = h('span', { class: 'badge', 'data-testid': 'session-state', 'data-state': 'none' }, 'none');
    el.sessionId = h('dd', { 'data-testid': 'session-id' }, '—');
    el.distance = h('dd', { 'data-testid': 'distance' }, '—');
    el.stage = h('span', { class: 'badge', 'data-testid': 'stage', 'data-stage': 'none' }, '—');
    el.trend = h('dd', { 'data-testid': 'trend' }, '—');
    el.presence = h('span', { class: 'badge', 'data-testid': 'presence', 'data-state': 'none' }, '—');
    el.lastSeen = h('span', { class: 'muted', 'data-testid': 'last-seen' });
    el.cadence = h('dd', { 'data-testid': 'cadence' }, '—');
    el.peerMediums = h('dd', { 'data-testid': 'peer-mediums' }, '—');
    el.chat = h('ul', { class: 'chat', 'data-testid': 'chat' });
    el.typing = h('div', { class: 'typing', 'data-testid': 'typing' });
    el.chatInput = input('chat-input', '', 'message');
    el.log = h('pre', { class: 'log', 'data-testid': 'log' });
    el.phone = input('medium-phone', this.role === 'seeker' ? '+4915100000001' : '+4915100000002');
    el.mediumBoxes = h(
      'span',
      {},
      ...MEDIUMS.map((m) => h('label', {}, h('input', { type: 'checkbox', value: m, 'data-testid': `medium-${m}`, checked: m === 'call' }), ` ${m} `)),
    );

    const roleSection =
      this.role === 'provider'
        ? [
            h('h3', {}, 'Availability'),
            h(
              'div',
              { class: 'row' },
              'service',
              el.serviceType,
              h('button', { 'data-testid': 'go-active', onclick: () => this.#setActive(true) }, 'Go active'),
              h('button', { 'data-testid': 'go-inactive', onclick: () => this.#setActive(false) }, 'Go inactive'),
            ),
            (el.status = h('div', { class: 'muted', 'data-testid': 'status' }, 'not active')),
            h('h3', {}, 'Incoming work'),
            (el.orders = h('ul', { class: 'orders', 'data-testid': 'orders' })),
          ]
        : [
            h('h3', {}, 'Find a provider'),
            h(
              'div',
              { class: 'row' },
              'service',
              el.serviceType,
              (el.orderMessage = input('order-message', 'Leaking tap in the kitchen')),
              h('button', { 'data-testid': 'find', onclick: () => this.#findProviders() }, 'Find nearby'),
            ),
            (el.providers = h('ul', { class: 'providers', 'data-testid': 'providers' })),
          ];

    const mediumsButton =
      this.role === 'seeker'
        ? h('button', { 'data-testid': 'select-mediums', onclick: () => this.#mediums() }, 'Select mediums')
        : h('button', { 'data-testid': 'share-mediums', onclick: () => this.#mediums() }, 'Share mediums');
    const finish =
      this.role === 'seeker'
        ? h(
            'div',
            { class: 'row' },
            (el.stars = h('select', { 'data-testid': 'rating' }, ...[5, 4, 3, 2, 1].map((n) => h('option', { value: String(n) }, '★'.repeat(n))))),
            (el.review = input('review', 'Quick and friendly')),
            h('button', { 'data-testid': 'finish', onclick: () => this.#finish() }, 'Finish and rate'),
            h('button', { 'data-testid': 'cancel', onclick: () => this.#cancel() }, 'Cancel'),
          )
        : h(
            'div',
            { class: 'row' },
            h('button', { 'data-testid': 'finish', onclick: () => this.#finish() }, 'Finish'),
            h('button', { 'data-testid': 'cancel', onclick: () => this.#cancel() }, 'Cancel'),
          );

    this.root.append(
      h('h2', {}, title, ' ', el.state, ' ', el.who),
      this.#tokenBox,
      h(
        'div',
        { class: 'row' },
        h('button', { 'data-testid': 'connect', onclick: () => this.connect() }, 'Connect'),
        h('button', { 'data-testid': 'disconnect', onclick: () => this.client.close() }, 'Disconnect'),
      ),
      el.error,
      h('h3', {}, 'Profile'),
      h('div', { class: 'row' }, el.name, el.mobile, h('button', { 'data-testid': 'save-profile', onclick: () => this.#saveProfile() }, 'Save')),
      ...roleSection,
      h('h3', {}, 'Session'),
      h(
        'dl',
        {},
        h('dt', {}, 'state'),
        h('dd', {}, el.sessionState),
        h('dt', {}, 'session'),
        el.sessionId,
        h('dt', {}, 'distance'),
        el.distance,
        h('dt', {}, 'stage'),
        h('dd', {}, el.stage),
        h('dt', {}, 'trend'),
        el.trend,
        h('dt', {}, peer),
        h('dd', {}, el.presence, ' ', el.lastSeen),
        h('dt', {}, 'cadence'),
        el.cadence,
        h('dt', {}, `${peer} mediums`),
        el.peerMediums,
      ),
      h('div', { class: 'row' }, el.mediumBoxes, el.phone, mediumsButton),
      h('h3', {}, 'Chat'),
      el.chat,
      el.typing,
      h(
        'form',
        { class: 'row', onsubmit: (e: Event) => (e.preventDefault(), this.#sendChat()) },
        el.chatInput,
        h('button', { type: 'submit', 'data-testid': 'send' }, 'Send'),
      ),
      h('h3', {}, 'End'),
      finish,
      h('h3', {}, 'Events'),
      el.log,
    );
    el.chatInput.addEventListener('input', () => this.#onTyping());
  }

  #wire(): void {
    const client = this.client;
    client.onState((info) => this.#showState(info));
    client.onAny((message) => {
      const line = `${new Date().toISOString().slice(11, 23)} ${message.type}${'code' in message ? ` ${message.code}` : ''}\n`;
      this.#el.log!.textContent = (line + this.#el.log!.textContent).slice(0, 4000);
    });
    // Both clients receive these; `on` works on the union of the two.
    client.on('work_accepted', () => {
      this.#el.orders?.replaceChildren();
      this.#el.providers?.replaceChildren(h('li', { 'data-testid': 'order-status' }, 'accepted: session opened'));
      this.moved(); // where this party is now: sent as soon as the session is taken up
    });
    client.on('work_assigned', (m) => this.#showOrder(m));
    client.on('work_expired', () => this.#fail(new Error('The work order expired')));
    client.on('error', (m) => this.#fail(new TetherError(m.code, m.error)));

    // Everything about the session comes from the SDK's session object.
    const session = this.session;
    session.on('change', () => this.#showSession());
    session.on('message', (message) => {
      // On screen: read (the client keeps the receipt until the server has it).
      const id = message.message_id;
      if (!message.mine && id && message.delivery_status !== 'read' && !this.#read.has(id)) {
        this.#read.add(id);
        session.markRead(id).catch(() => this.#read.delete(id));
      }
      this.#showChat();
    });
    session.on('typing', (typing) => {
      this.#el.typing!.textContent = typing ? `${this.role === 'seeker' ? 'provider' : 'seeker'} is typing…` : '';
    });
    session.on('distance', (distance) => {
      document.querySelector('[data-testid=map-distance]')!.textContent = distance.formatted;
    });
    session.on('error', (error) => this.#fail(error));
  }

  connect(): void {
    this.#el.error!.textContent = '';
    const token = this.#tokenBox.value.trim();
    const exp = tokenExpiryMs(token);
    try {
      const sub = JSON.parse(atob(token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))).sub as string;
      this.#el.who!.textContent = `user ${sub.slice(0, 8)}…${exp ? `, token valid until ${new Date(exp).toLocaleTimeString()}` : ''}`;
    } catch {
      this.#el.who!.textContent = '';
    }
    // Once open, the session picks up the session this user is already in (after a reload).
    this.client.connect().catch((e) => this.#fail(e));
  }

  #showState(info: StateInfo): void {
    const badge = this.#el.state!;
    badge.dataset.state = info.state;
    badge.textContent =
      info.state === 'reconnecting' ? `reconnecting in ${((info.retryInMs ?? 0) / 1000).toFixed(1)} s` : info.state;
    if (info.state === 'closed' && info.error?.code === 'unauthorized') {
      this.#fail(new Error(`Token refused (${info.error.status ?? info.error.closeCode}): paste a new one and connect`));
    }
  }

  /** The session's values as the SDK keeps them. */
  #showSession(): void {
    const el = this.#el;
    const session = this.session;
    el.sessionId!.textContent = session.id ?? '—';
    const state = session.state ?? 'none';
    el.sessionState!.textContent = state;
    el.sessionState!.dataset.state = state;
    el.distance!.textContent = session.distance?.formatted ?? '—';
    el.stage!.textContent = session.stage ? STAGE_TEXT[session.stage] : '—';
    el.stage!.dataset.stage = session.stage ?? 'none';
    el.trend!.textContent = trendText(session);
    const presence = session.peer;
    el.presence!.textContent = presence?.status ?? '—';
    el.presence!.dataset.state = presence?.status ?? 'none';
    el.lastSeen!.textContent = presence ? `last seen ${timeText(presence.lastSeen)}` : '';
    el.cadence!.textContent = cadenceText(session);
    const mediums = session.peerMediums;
    el.peerMediums!.textContent = mediums ? Object.entries(mediums).map(([k, v]) => `${k} ${v}`).join(', ') || '(none)' : '—';
  }

  #showChat(): void {
    const chat = this.#el.chat!;
    chat.replaceChildren(
      ...this.session.messages.map((message) => {
        const masked =
          message.redacted &&
          h(
            'span',
            { class: 'masked', 'data-testid': 'redacted', title: 'Phone numbers, messenger links and handles were hidden: the session was still waiting' },
            message.mine ? 'masked for the other party' : 'masked',
          );
        return message.mine
          ? h('li', { class: 'mine', 'data-testid': 'mine' }, message.message, masked, h('span', { class: 'receipt', 'data-testid': 'receipt' }, receiptText(message)))
          : h('li', { 'data-testid': 'incoming' }, message.message, masked);
      }),
    );
    chat.scrollTop = chat.scrollHeight;
  }

  #fail(error: unknown): void {
    const text = error instanceof TetherError ? `${error.code}: ${error.message}` : String((error as Error)?.message ?? error);
    this.#el.error!.textContent = text;
  }

  /** Runs an action, showing its error in the pane instead of throwing. */
  async #do(action: () => Promise<unknown>): Promise<void> {
    this.#el.error!.textContent = '';
    try {
      await action();
    } catch (error) {
      this.#fail(error);
    }
  }

  #value(key: string): string {
    return (this.#el[key] as HTMLInputElement).value.trim();
  }

  #saveProfile(): Promise<void> {
    return this.#do(async () => {
      await this.api.putProfile({ display_name: this.#value('name'), mobile: this.#value('mobile') || null });
      this.#el.who!.textContent += ' · profile saved';
    });
  }

  #setActive(active: boolean): Promise<void> {
    return this.#do(async () => {
      const point = toLatLon(this.map.positions.provider);
      const status = await this.api.putProviderStatus({
        is_active: active,
        service_types: [this.#value('serviceType')],
        ...point,
      });
      this.#el.status!.textContent = status.is_active ? `active for ${status.service_types.join(', ')}` : 'not active';
    });
  }

  #findProviders(): Promise<void> {
    return this.#do(async () => {
      const here = toLatLon(this.map.positions.seeker);
      const { providers } = await this.api.nearbyProviders({ ...here, service_type: this.#value('serviceType') });
      const list = this.#el.providers!;
      list.replaceChildren(
        ...providers.map((p) =>
          h(
            'li',
            {},
            `${p.display_name ?? 'provider'} · ${p.distance} `,
            h('button', { 'data-testid': 'request', onclick: () => this.#order(p.provider_id) }, 'Request'),
          ),
        ),
      );
      if (providers.length === 0) list.append(h('li', { class: 'muted' }, 'no active provider nearby'));
    });
  }

  #order(providerId: string): Promise<void> {
    return this.#do(async () => {
      const created = await this.api.createWorkOrder({
        provider_id: providerId,
        service_type: this.#value('serviceType'),
        message: this.#value('orderMessage'),
        ...toLatLon(this.map.positions.seeker),
      });
      this.#el.providers!.replaceChildren(h('li', { 'data-testid': 'order-status' }, `order ${created.work_id}: ${created.status}, waiting for the provider`));
    });
  }

  #showOrder(work: ServerWorkAssigned): void {
    const item = h(
      'li',
      { 'data-testid': 'order' },
      `#${work.work_id} ${work.service_type} from ${work.seeker_name ?? 'a seeker'}${work.distance ? ` (${work.distance})` : ''}: “${work.message}” `,
      h('button', { 'data-testid': 'accept', onclick: () => this.#respond(work.work_id, true, item) }, 'Accept'),
      h('button', { 'data-testid': 'reject', onclick: () => this.#respond(work.work_id, false, item) }, 'Reject'),
    );
    this.#el.orders!.append(item);
  }

  #respond(workId: number, accepted: boolean, item: HTMLElement): Promise<void> {
    return this.#do(async () => {
      await (this.client as ProviderClient).respondToWork(workId, accepted);
      item.remove();
    });
  }

  #requireSession(): string {
    if (!this.session.id) throw new Error('No session yet');
    return this.session.id;
  }

  #mediums(): Promise<void> {
    return this.#do(async () => {
      const phone = this.#value('phone');
      const mediums: Mediums = {};
      for (const box of this.#el.mediumBoxes!.querySelectorAll<HTMLInputElement>('input:checked')) {
        mediums[box.value as keyof Mediums] = phone;
      }
      const session = this.#requireSession();
      if (this.client instanceof SeekerClient) await this.client.selectMediums(session, mediums);
      else await (this.client as ProviderClient).shareMediums(session, mediums);
    });
  }

  #sendChat(): Promise<void> {
    return this.#do(async () => {
      const text = this.#value('chatInput');
      if (!text) return;
      this.#requireSession();
      (this.#el.chatInput as HTMLInputElement).value = '';
      this.#stopTyping();
      // Shown at once by the session (pending), then stored, then its receipts.
      await this.session.sendChat(text);
    });
  }

  #onTyping(): void {
    const sessionId = this.session.id;
    if (!sessionId) return;
    if (!this.#typing) {
      this.#typing = true;
      this.client.typing(sessionId, true).catch(() => (this.#typing = false));
    }
    clearTimeout(this.#typingTimer);
    this.#typingTimer = setTimeout(() => this.#stopTyping(), 2500);
  }

  #stopTyping(): void {
    clearTimeout(this.#typingTimer);
    const sessionId = this.session.id;
    if (this.#typing && sessionId) void this.client.typing(sessionId, false);
    this.#typing = false;
  }

  /**
   * This party's map position is a new fix: the reporter sends it now, later or not at all
   * (the server's cadence), and keeps it while there is no session or no socket.
   */
  moved(): void {
    this.reporter.report(toLatLon(this.map.positions[this.role]));
  }

  #finish(): Promise<void> {
    return this.#do(async () => {
      const session = this.#requireSession();
      if (this.client instanceof SeekerClient) {
        await this.client.finish(session, {
          rating_stars: Number((this.#el.stars as HTMLSelectElement).value),
          rating_description: this.#value('review'),
        });
      } else {
        await (this.client as ProviderClient).finish(session);
      }
    });
  }

  #cancel(): Promise<void> {
    return this.#do(() => this.client.cancel(this.#requireSession()));
  }
}

// ---- the session's timeline, verified here ----

/** What appends to the timeline (or may have, after a reconnect): then it is read again. */
const TIMELINE_CAUSES = new Set<SessionChangeCause>([
  'work_accepted',
  'chat_ready',
  'chat_message',
  'message_sent',
  'mediums_selected',
  'seeker_mediums_selected',
  'mediums_shared',
  'provider_mediums_shared',
  'arrival_update',
  'connection_cancelled',
  'service_finished',
  'refresh',
]);

function eventData(event: TimelineEvent): string {
  switch (event.type) {
    case 'arrival':
      return STAGE_TEXT[event.data.stage] ?? event.data.stage;
    case 'mediums_selected':
    case 'mediums_shared':
      return event.data.mediums.join(', ') || '(none)';
    default:
      return '';
  }
}

class TimelinePanel {
  readonly #status: HTMLElement;
  readonly #list: HTMLElement;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #generation = 0;

  constructor(
    readonly root: HTMLElement,
    readonly panes: Pane[],
  ) {
    this.#status = h('span', { class: 'verdict', 'data-testid': 'timeline-status', 'data-verified': 'none' }, 'no session yet');
    this.#list = h('ol', { class: 'timeline', 'data-testid': 'timeline' });
    root.append(
      h('h2', {}, 'Timeline'),
      h(
        'p',
        { class: 'hint' },
        'Each event’s hash is SHA-256 of the previous hash and the event’s canonical JSON (RFC 8785), recomputed in this browser.',
      ),
      h('div', { class: 'row' }, h('button', { 'data-testid': 'timeline-refresh', onclick: () => void this.load() }, 'Verify again'), this.#status),
      this.#list,
    );
    for (const pane of panes) {
      pane.session.on('change', ({ cause }) => {
        if (TIMELINE_CAUSES.has(cause)) this.schedule();
      });
    }
  }

  /** Reads the timeline again shortly (events come in bursts). */
  schedule(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.load(), 300);
  }

  async load(): Promise<void> {
    clearTimeout(this.#timer);
    const pane = this.panes.find((p) => p.session.id);
    if (!pane) return;
    const generation = ++this.#generation;
    let timeline: SessionTimeline;
    try {
      timeline = await pane.api.timeline(pane.session.id!);
    } catch (error) {
      if (generation === this.#generation) this.#verdict('false', `could not read it: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    let result: Awaited<ReturnType<typeof verifyTimeline>>;
    try {
      // The answer as parsed, every field as the server sent it.
      result = await verifyTimeline(timeline);
    } catch (error) {
      if (generation === this.#generation) this.#verdict('false', `cannot verify here: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    if (generation !== this.#generation) return;
    const broken = result.ok ? Infinity : (result.index ?? timeline.events.length);
    this.#list.replaceChildren(
      ...timeline.events.map((event, i) => {
        const state = i < broken ? 'ok' : i === broken ? 'broken' : 'unchecked';
        return h(
          'li',
          { class: state, 'data-testid': 'timeline-event', 'data-type': event.type, 'data-detail': eventData(event) },
          h('span', { class: 'check' }, state === 'ok' ? '✓' : state === 'broken' ? '✗' : '·'),
          h('span', { class: 'seq' }, `#${event.seq}`),
          h('span', { class: 'at' }, event.at.slice(11, 23)),
          h('b', {}, event.type),
          h('span', { class: 'muted' }, event.actor_role),
          eventData(event) && h('span', {}, eventData(event)),
          h('code', { title: event.hash }, `${event.hash.slice(0, 6)}…`),
        );
      }),
    );
    if (result.ok) {
      this.#verdict('true', `✓ chain verified here: ${result.events} events, head ${result.headHash.slice(0, 12)}…`);
    } else {
      this.#verdict('false', `✗ ${result.message}`);
    }
  }

  #verdict(verified: 'true' | 'false', text: string): void {
    this.#status.dataset.verified = verified;
    this.#status.textContent = text;
  }
}

// ---- start ----

/** Tokens from `#seeker=…&provider=…`, kept for this tab only and taken out of the address bar. */
function tokensFromAddress(): Record<Role, string> {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const tokens = { seeker: '', provider: '' };
  for (const role of ['seeker', 'provider'] as const) {
    const given = fragment.get(role);
    if (given) sessionStorage.setItem(`tether-console-${role}`, given);
    tokens[role] = given ?? sessionStorage.getItem(`tether-console-${role}`) ?? '';
  }
  if (location.hash) history.replaceState(null, '', location.pathname);
  return tokens;
}

const tokens = tokensFromAddress();
const map = new GridMap(document.getElementById('map') as unknown as SVGSVGElement);
const panes: Record<Role, Pane> = {
  seeker: new Pane('seeker', document.getElementById('seeker')!, map, tokens.seeker),
  provider: new Pane('provider', document.getElementById('provider')!, map, tokens.provider),
};
new TimelinePanel(document.getElementById('timeline')!, [panes.seeker, panes.provider]);
map.onMove((role) => panes[role].moved());
