// Action and target from the matched route, computed once per (method, route) and cached:
//   POST /policies          → policies.create      target: policies
//   GET  /policies          → policies.list        target: policies
//   GET  /policies/:id      → policies.read        target: policy:<id>
//   PATCH /organizations/:orgId/members/:userId → organizations.members.update, target member:<userId>
// Only the parameter value is looked up per request.

export interface RouteAction {
  action: string;
  /** Name of the route parameter that identifies the target, '' when the route has none. */
  param: string;
  /** `policy:` for a parameter target, or the whole target for a collection route. */
  prefix: string;
}

const VERBS: Record<string, [collection: string, item: string]> = {
  GET: ['list', 'read'],
  HEAD: ['list', 'read'],
  POST: ['create', 'create'],
  PUT: ['update', 'update'],
  PATCH: ['update', 'update'],
  DELETE: ['delete', 'delete'],
};

/** `policies` → `policy`, `service-accounts` → `service-account`, `addresses` → `address`. */
export function singular(word: string): string {
  if (word.endsWith('ies') && word.length > 3) return `${word.slice(0, -3)}y`;
  if (word.endsWith('sses') || word.endsWith('xes') || word.endsWith('ches') || word.endsWith('shes')) {
    return word.slice(0, -2);
  }
  if (word.endsWith('s') && !word.endsWith('ss') && !word.endsWith('us')) return word.slice(0, -1);
  return word;
}

function isParam(segment: string): boolean {
  return segment.startsWith(':') || segment.startsWith('{') || segment.includes('*');
}

function paramName(segment: string): string {
  // Hono `:id{[0-9]+}` and `:id?`, Express `:id`.
  let name = segment.slice(1);
  const brace = name.indexOf('{');
  if (brace >= 0) name = name.slice(0, brace);
  return name.endsWith('?') ? name.slice(0, -1) : name;
}

export function deriveRouteAction(method: string, route: string): RouteAction {
  const segments = route.split('/').filter((s) => s !== '');
  const statics = segments.filter((s) => !isParam(s)).map((s) => s.toLowerCase());
  const verbs = VERBS[method.toUpperCase()] ?? [method.toLowerCase(), method.toLowerCase()];
  const last = segments.at(-1);
  const onItem = last !== undefined && isParam(last) && !last.includes('*');
  const resource = statics.length > 0 ? statics.join('.') : 'root';
  const action = `${resource}.${onItem ? verbs[1] : verbs[0]}`;
  // The target is the last named parameter and the static segment before it.
  for (let i = segments.length - 1; i > 0; i--) {
    const seg = segments[i] as string;
    const before = segments[i - 1] as string;
    if (isParam(seg) && !seg.includes('*') && !isParam(before)) {
      return { action, param: paramName(seg), prefix: `${singular(before.toLowerCase())}:` };
    }
  }
  return { action, param: '', prefix: statics.at(-1) ?? '' };
}

/**
 * A bounded per-adapter cache: routes are few, but a hostile app could register many. Keyed by
 * method, then by the route string the router already holds, so a lookup builds no string.
 */
export class RouteActionCache {
  readonly #byMethod = new Map<string, Map<string, RouteAction>>();
  #size = 0;

  get(method: string, route: string): RouteAction {
    let routes = this.#byMethod.get(method);
    if (routes === undefined) {
      routes = new Map();
      this.#byMethod.set(method, routes);
    }
    let hit = routes.get(route);
    if (hit === undefined) {
      hit = deriveRouteAction(method, route);
      if (this.#size >= 10_000) {
        for (const m of this.#byMethod.values()) m.clear();
        this.#size = 0;
      }
      routes.set(route, hit);
      this.#size++;
    }
    return hit;
  }
}
