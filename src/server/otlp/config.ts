import { usageError, VERSION } from "../../protocol/index.ts";
import type { Attribute } from "./trace.ts";

// The standard OTEL_* variables, read the way the OpenTelemetry specification's
// "OTLP Exporter Configuration" and "Environment Variable Specification" say.

export type OtlpProtocol = "http/protobuf" | "http/json";

export interface OtlpConfig {
  /** Where traces are POSTed. */
  url: string;
  protocol: OtlpProtocol;
  headers: Record<string, string>;
  /** How long one request may take. */
  timeoutMs: number;
  resource: Attribute[];
}

type Env = Record<string, string | undefined>;

/** True when the environment asks for traces: an endpoint is set and nothing turns them off. */
export function tracesConfigured(env: Env): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === "true") return false;
  if (env.OTEL_TRACES_EXPORTER?.trim().toLowerCase() === "none") return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim());
}

/** The exporter's settings; a value that makes no sense is a usage error naming the variable. */
export function otlpConfig(env: Env): OtlpConfig {
  const signal = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  // The signal-specific endpoint is used as it is; the general one gets /v1/traces appended.
  const url = signal || `${env.OTEL_EXPORTER_OTLP_ENDPOINT!.trim().replace(/\/+$/, "")}/v1/traces`;
  const variable = signal ? "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" : "OTEL_EXPORTER_OTLP_ENDPOINT";
  const parsed = URL.parse(url);
  if (!parsed || (parsed.protocol !== "http:" && parsed.protocol !== "https:")) {
    throw usageError(`${variable} must be an http:// or https:// URL, not ${JSON.stringify(url)}`);
  }
  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? "http/protobuf").trim();
  if (protocol !== "http/protobuf" && protocol !== "http/json") {
    throw usageError(`OTEL_EXPORTER_OTLP_PROTOCOL must be http/protobuf or http/json (unitsync sends no gRPC), not ${JSON.stringify(protocol)}`);
  }
  const timeout = (env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT ?? env.OTEL_EXPORTER_OTLP_TIMEOUT ?? "10000").trim();
  const timeoutMs = Number(timeout);
  if (!/^\d+$/.test(timeout) || timeoutMs <= 0) {
    throw usageError(`OTEL_EXPORTER_OTLP_TIMEOUT must be a whole number of milliseconds above 0, not ${JSON.stringify(timeout)}`);
  }
  const headers = {
    ...pairs(env.OTEL_EXPORTER_OTLP_HEADERS, "OTEL_EXPORTER_OTLP_HEADERS"),
    ...pairs(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS, "OTEL_EXPORTER_OTLP_TRACES_HEADERS"),
  };
  return { url, protocol, headers, timeoutMs, resource: resourceOf(env) };
}

/** The resource: OTEL_RESOURCE_ATTRIBUTES, then OTEL_SERVICE_NAME over its service.name, then ours. */
export function resourceOf(env: Env): Attribute[] {
  const given = pairs(env.OTEL_RESOURCE_ATTRIBUTES, "OTEL_RESOURCE_ATTRIBUTES");
  const merged: Record<string, string> = {
    "service.name": "unitsync",
    ...given,
    ...(env.OTEL_SERVICE_NAME?.trim() && { "service.name": env.OTEL_SERVICE_NAME.trim() }),
  };
  merged["service.version"] ??= VERSION;
  const attributes: Attribute[] = Object.entries(merged).map(([key, value]) => ({ key, value }));
  attributes.push({ key: "process.pid", value: { int: process.pid } });
  return attributes;
}

/** `key=value,key2=value2` with percent-encoded values (W3C Baggage's form), as the OTEL_* lists are written. */
function pairs(list: string | undefined, variable: string): Record<string, string> {
  const result: Record<string, string> = {};
  for (const item of (list ?? "").split(",")) {
    if (item.trim() === "") continue;
    const equals = item.indexOf("=");
    const key = item.slice(0, equals).trim();
    if (equals < 0 || key === "") throw usageError(`${variable}: ${JSON.stringify(item.trim())} is not key=value`);
    try {
      result[key] = decodeURIComponent(item.slice(equals + 1).trim());
    } catch {
      throw usageError(`${variable}: the value of ${key} is not valid percent-encoding`);
    }
  }
  return result;
}
