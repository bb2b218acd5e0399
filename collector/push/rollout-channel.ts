import { DurableObject } from "cloudflare:workers";
import { errorBody } from "../errors.ts";

/** What a subscription is counted under: the ingest key and the client network it came from. */
export interface Subscriber {
  /** The ingest key's id. */
  keyId: string;
  /** The client network (collector/http/client-ip.ts `clientNetwork`), or null when unknown. */
  network: string | null;
}

/** The channel's bounds (collector/config.ts `pushLimits`). */
export interface ChannelLimits {
  /** Open subscriptions per ingest key and model. */
  perKey: number;
  /** Open subscriptions per client network and model. */
  perNetwork: number;
}

/** What the route tells the object about a subscription (the header {@link SUBSCRIPTION_HEADER}). */
export interface Subscription extends Subscriber {
  /** The config version the route read (the object may know a newer one). */
  configVersion: number;
  limits: ChannelLimits;
}

/** The header of the route's request to the object that carries the {@link Subscription} (JSON). */
export const SUBSCRIPTION_HEADER = "x-driftline-subscription";

/** The one message of the channel: the model's current config version. */
export interface ChannelMessage {
  configVersion: number;
}

const VERSION_KEY = "configVersion";
/** Storage keys of revoked key ids (`revoked:<key id>`). */
const REVOKED_PREFIX = "revoked:";
/** Close code of a message a client sent: the channel takes none (1008, policy violation). */
const NO_MESSAGES = 1008;
/** Close code of a subscription whose key was revoked (1008, policy violation). */
const REVOKED = 1008;

/**
 * The rollout channel of one model (named by the model's key): holds its subscribers' WebSockets
 * through the hibernation API, so between rollout changes the object is out of memory and costs
 * no duration. On connect a subscriber is sent the current config version (a change made while it
 * was away is not missed); each rollout change is sent to every subscriber at once. The channel
 * carries nothing but `{"configVersion": n}`: clients fetch their assignment as before.
 * Subscriptions are bounded per ingest key and per client network ({@link ChannelLimits}); a
 * subscriber that sends anything is closed with 1008.
 */
export class RolloutChannel extends DurableObject<Env> {
  /**
   * A subscription: the route's WebSocket upgrade request (collector/routes/rollout-channel.ts,
   * which authenticated it and sets {@link SUBSCRIPTION_HEADER}). Answers 101 with the socket,
   * 429 `rate_limited` (JSON error body) when a bound is reached, or 401 `unauthorized` for a key
   * {@link closeKey} was told is revoked.
   *
   * @param request - the upgrade request
   */
  override fetch(request: Request): Response {
    const sub = JSON.parse(request.headers.get(SUBSCRIPTION_HEADER)!) as Subscription;
    // another isolate may still take a revoked ingest key for a few seconds (collector/auth.ts INGEST_KEY_CACHE_MS)
    if (this.ctx.storage.kv.get<boolean>(`${REVOKED_PREFIX}${sub.keyId}`)) return Response.json(errorBody("unauthorized", "unknown or revoked key"), { status: 401 });
    const tags = [`key:${sub.keyId}`, ...(sub.network === null ? [] : [`net:${sub.network}`])];
    const full = this.ctx.getWebSockets(tags[0]).length >= sub.limits.perKey ? "ingest key" : tags[1] && this.ctx.getWebSockets(tags[1]).length >= sub.limits.perNetwork ? "network" : undefined;
    if (full) {
      const limit = full === "network" ? sub.limits.perNetwork : sub.limits.perKey;
      return Response.json(errorBody("rate_limited", `this ${full} has ${limit} subscriptions to this model open`), { status: 429 });
    }
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server, tags);
    server.send(message(this.remember_(sub.configVersion)));
    return new Response(null, { status: 101, webSocket: client });
  }

  /**
   * Sends a new config version to every subscriber; an older one than the object knows is ignored.
   *
   * @param configVersion - the model's config version after a rollout change
   * @returns how many subscribers it was sent to
   */
  announce(configVersion: number): number {
    if (this.known_() >= configVersion) return 0;
    const text = message(this.remember_(configVersion));
    let sent = 0;
    for (const ws of this.ctx.getWebSockets()) {
      try {
        ws.send(text);
        sent++;
      } catch {
        // a socket closing meanwhile: it reconnects and gets the version on connect
      }
    }
    return sent;
  }

  /**
   * Closes the subscriptions of a revoked key (1008), so it hears of no change after its
   * revocation (collector/routes/keys.ts), and refuses its subscriptions from now on (401): one
   * made through an isolate that still has the key cached would otherwise stay open.
   *
   * @param keyId - the revoked key's id
   * @returns how many were closed
   */
  closeKey(keyId: string): number {
    this.ctx.storage.kv.put(`${REVOKED_PREFIX}${keyId}`, true);
    const sockets = this.ctx.getWebSockets(`key:${keyId}`);
    for (const ws of sockets) {
      try {
        ws.close(REVOKED, "this key was revoked");
      } catch {
        // closing already
      }
    }
    return sockets.length;
  }

  /** Open subscriptions. */
  subscribers(): number {
    return this.ctx.getWebSockets().length;
  }

  override webSocketMessage(ws: WebSocket): void {
    ws.close(NO_MESSAGES, "this channel takes no messages");
  }

  override webSocketClose(ws: WebSocket, code: number): void {
    // 1005/1006 (no code, abnormal) may not be sent back
    ws.close(code === 1005 || code === 1006 ? 1000 : code, "closing");
  }

  private known_(): number {
    return this.ctx.storage.kv.get<number>(VERSION_KEY) ?? 0;
  }

  /** The newest of `configVersion` and the one stored, stored. */
  private remember_(configVersion: number): number {
    const known = this.known_();
    if (configVersion <= known) return known;
    this.ctx.storage.kv.put(VERSION_KEY, configVersion);
    return configVersion;
  }
}

function message(configVersion: number): string {
  return JSON.stringify({ configVersion } satisfies ChannelMessage);
}
