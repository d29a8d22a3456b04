/*
 * usdt-emitter: fires Bitcoin Core's USDT tracepoints (same provider, name and argument C types,
 * each behind a Core-style semaphore) on command, so the bpftrace tracer can be tested against
 * real kernel uprobes without a USDT-enabled bitcoind.
 * Its argument types are Core v29.0's (the newest layout in tracing/catalog.ts), so
 * `regtest-harness probes <emitter> --check --core-version 29.0` agrees with the catalog.
 *
 * One command per stdin line, one reply line per command on stdout:
 *   ready                       -> "ready <pid>"
 *   sem <context:name>          -> "sem <context:name> <semaphore value>"
 *   fire <context:name> <args>  -> "fired <context:name> 1" (or 0: semaphore inactive, not fired)
 *   burst <net:*_message> <n> [payload_len] [per_second]
 *                               -> "fired <context:name> <count>" (peer_id = 0..n-1, msg_type "ping");
 *                                  paced to per_second hits when given, else as fast as it can
 *   quit                        -> exits
 * Argument encoding (in Core's order): integers and bools in decimal; strings and byte buffers as
 * lowercase hex ("-" for empty) so spaces and any length survive; hashes as 64 hex digits of the
 * 32 raw bytes in internal (little-endian) order, exactly what Core passes.
 * Errors reply "error <reason>" and keep going.
 */
#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Core's TRACEPOINT_SEMAPHORE: one global per tracepoint in the .probes section. */
#define SEMAPHORE(context, event) \
  unsigned short context##_##event##_semaphore __attribute__((section(".probes")))
/* Read through volatile: the kernel changes it behind the compiler's back (burst loops). */
#define ACTIVE(context, event) (*(volatile unsigned short *)&context##_##event##_semaphore > 0)
#define ACTIVE_SEM(tp) (*(volatile unsigned short *)(tp)->semaphore > 0)

SEMAPHORE(net, inbound_message);
SEMAPHORE(net, outbound_message);
SEMAPHORE(net, inbound_connection);
SEMAPHORE(net, outbound_connection);
SEMAPHORE(net, evicted_inbound_connection);
SEMAPHORE(net, misbehaving_connection);
SEMAPHORE(net, closed_connection);
SEMAPHORE(validation, block_connected);
SEMAPHORE(utxocache, flush);
SEMAPHORE(utxocache, add);
SEMAPHORE(utxocache, spent);
SEMAPHORE(utxocache, uncache);
SEMAPHORE(coin_selection, selected_coins);
SEMAPHORE(coin_selection, normal_create_tx_internal);
SEMAPHORE(coin_selection, attempting_aps_create_tx);
SEMAPHORE(coin_selection, aps_create_tx_internal);
SEMAPHORE(mempool, added);
SEMAPHORE(mempool, removed);
SEMAPHORE(mempool, replaced);
SEMAPHORE(mempool, rejected);

/* One decoded argument; which member is used depends on the tracepoint's signature. */
typedef struct {
  int64_t i;
  uint64_t u;
  unsigned char *bytes; /* strings (NUL-terminated), hashes and payloads */
} arg_t;

#define MAX_ARGS 8
#define MAX_TOKENS 16
#define PAYLOAD_SLACK 256 /* a tracer reads up to 256 bytes past a short payload (tracing/bpftrace/program.ts, WORD_PAYLOAD_MAX): keep them mapped */

/* Signature letters: i signed int, u unsigned int, b bool, s string, h 32-byte hash, x byte buffer. */
typedef struct {
  const char *name;
  const char *signature;
  unsigned short *semaphore;
  void (*fire)(const arg_t *a);
} tracepoint_t;

#define S(x) ((const char *)(x).bytes)
#define B(x) ((const unsigned char *)(x).bytes)

static void fire_inbound_message(const arg_t *a) {
  STAP_PROBE6(net, inbound_message, (int64_t)a[0].i, S(a[1]), S(a[2]), S(a[3]), (uint64_t)a[4].u, B(a[5]));
}
static void fire_outbound_message(const arg_t *a) {
  STAP_PROBE6(net, outbound_message, (int64_t)a[0].i, S(a[1]), S(a[2]), S(a[3]), (uint64_t)a[4].u, B(a[5]));
}
static void fire_inbound_connection(const arg_t *a) {
  STAP_PROBE5(net, inbound_connection, (int64_t)a[0].i, S(a[1]), S(a[2]), (uint32_t)a[3].u, (uint64_t)a[4].u);
}
static void fire_outbound_connection(const arg_t *a) {
  STAP_PROBE5(net, outbound_connection, (int64_t)a[0].i, S(a[1]), S(a[2]), (uint32_t)a[3].u, (uint64_t)a[4].u);
}
static void fire_evicted_inbound_connection(const arg_t *a) {
  STAP_PROBE5(net, evicted_inbound_connection, (int64_t)a[0].i, S(a[1]), S(a[2]), (uint32_t)a[3].u, (int64_t)a[4].i);
}
static void fire_misbehaving_connection(const arg_t *a) {
  STAP_PROBE2(net, misbehaving_connection, (int64_t)a[0].i, S(a[1]));
}
static void fire_closed_connection(const arg_t *a) {
  STAP_PROBE5(net, closed_connection, (int64_t)a[0].i, S(a[1]), S(a[2]), (uint32_t)a[3].u, (int64_t)a[4].i);
}
static void fire_block_connected(const arg_t *a) {
  STAP_PROBE6(validation, block_connected, B(a[0]), (int32_t)a[1].i, (uint64_t)a[2].u, (int32_t)a[3].i,
              (int64_t)a[4].i, (int64_t)a[5].i);
}
static void fire_flush(const arg_t *a) {
  STAP_PROBE5(utxocache, flush, (int64_t)a[0].i, (uint32_t)a[1].u, (uint64_t)a[2].u, (uint64_t)a[3].u, (bool)a[4].u);
}
static void fire_add(const arg_t *a) {
  STAP_PROBE5(utxocache, add, B(a[0]), (uint32_t)a[1].u, (uint32_t)a[2].u, (int64_t)a[3].i, (bool)a[4].u);
}
static void fire_spent(const arg_t *a) {
  STAP_PROBE5(utxocache, spent, B(a[0]), (uint32_t)a[1].u, (uint32_t)a[2].u, (int64_t)a[3].i, (bool)a[4].u);
}
static void fire_uncache(const arg_t *a) {
  STAP_PROBE5(utxocache, uncache, B(a[0]), (uint32_t)a[1].u, (uint32_t)a[2].u, (int64_t)a[3].i, (bool)a[4].u);
}
static void fire_selected_coins(const arg_t *a) {
  STAP_PROBE5(coin_selection, selected_coins, S(a[0]), S(a[1]), (int64_t)a[2].i, (int64_t)a[3].i, (int64_t)a[4].i);
}
static void fire_normal_create_tx_internal(const arg_t *a) {
  STAP_PROBE4(coin_selection, normal_create_tx_internal, S(a[0]), (bool)a[1].u, (int64_t)a[2].i, (int32_t)a[3].i);
}
static void fire_attempting_aps_create_tx(const arg_t *a) {
  STAP_PROBE1(coin_selection, attempting_aps_create_tx, S(a[0]));
}
static void fire_aps_create_tx_internal(const arg_t *a) {
  STAP_PROBE5(coin_selection, aps_create_tx_internal, S(a[0]), (bool)a[1].u, (bool)a[2].u, (int64_t)a[3].i,
              (int32_t)a[4].i);
}
static void fire_added(const arg_t *a) {
  STAP_PROBE3(mempool, added, B(a[0]), (int32_t)a[1].i, (int64_t)a[2].i);
}
static void fire_removed(const arg_t *a) {
  STAP_PROBE5(mempool, removed, B(a[0]), S(a[1]), (int32_t)a[2].i, (int64_t)a[3].i, (uint64_t)a[4].u);
}
static void fire_replaced(const arg_t *a) {
  STAP_PROBE8(mempool, replaced, B(a[0]), (int32_t)a[1].i, (int64_t)a[2].i, (uint64_t)a[3].u, B(a[4]),
              (int32_t)a[5].i, (int64_t)a[6].i, (bool)a[7].u);
}
static void fire_rejected(const arg_t *a) {
  STAP_PROBE2(mempool, rejected, B(a[0]), S(a[1]));
}

#define TP(context, event, signature) \
  { #context ":" #event, signature, &context##_##event##_semaphore, fire_##event }

static const tracepoint_t TRACEPOINTS[] = {
    TP(net, inbound_message, "isssux"),
    TP(net, outbound_message, "isssux"),
    TP(net, inbound_connection, "issuu"),
    TP(net, outbound_connection, "issuu"),
    TP(net, evicted_inbound_connection, "issui"),
    TP(net, misbehaving_connection, "is"),
    TP(net, closed_connection, "issui"),
    TP(validation, block_connected, "hiuiii"),
    TP(utxocache, flush, "iuuub"),
    TP(utxocache, add, "huuib"),
    TP(utxocache, spent, "huuib"),
    TP(utxocache, uncache, "huuib"),
    TP(coin_selection, selected_coins, "ssiii"),
    TP(coin_selection, normal_create_tx_internal, "sbii"),
    TP(coin_selection, attempting_aps_create_tx, "s"),
    TP(coin_selection, aps_create_tx_internal, "sbbii"),
    TP(mempool, added, "hii"),
    TP(mempool, removed, "hsiiu"),
    TP(mempool, replaced, "hiiuhiib"),
    TP(mempool, rejected, "hs"),
};
#define TRACEPOINT_COUNT (sizeof(TRACEPOINTS) / sizeof(TRACEPOINTS[0]))

static const tracepoint_t *find_tracepoint(const char *name) {
  for (size_t k = 0; k < TRACEPOINT_COUNT; k++)
    if (strcmp(TRACEPOINTS[k].name, name) == 0) return &TRACEPOINTS[k];
  return NULL;
}

static void reply(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  fflush(stdout);
}

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Decodes hex ("-" = empty) into a fresh NUL-terminated buffer with slack; NULL on bad hex. */
static unsigned char *decode_hex(const char *text, size_t *length) {
  size_t digits = strcmp(text, "-") == 0 ? 0 : strlen(text);
  if (digits % 2 != 0) return NULL;
  unsigned char *out = calloc(digits / 2 + PAYLOAD_SLACK, 1);
  if (!out) return NULL;
  for (size_t k = 0; k < digits / 2; k++) {
    int hi = hex_value(text[2 * k]), lo = hex_value(text[2 * k + 1]);
    if (hi < 0 || lo < 0) {
      free(out);
      return NULL;
    }
    out[k] = (unsigned char)(hi << 4 | lo);
  }
  *length = digits / 2;
  return out;
}

static void free_args(arg_t *args, size_t count) {
  for (size_t k = 0; k < count; k++) free(args[k].bytes);
}

/* Fills args from tokens per signature; returns NULL or a reason. */
static const char *decode_args(const tracepoint_t *tp, char **tokens, size_t count, arg_t *args) {
  size_t want = strlen(tp->signature);
  if (count != want) return "wrong argument count";
  for (size_t k = 0; k < want; k++) {
    const char *t = tokens[k];
    char *end = NULL;
    size_t length = 0;
    switch (tp->signature[k]) {
      case 'i':
        args[k].i = strtoll(t, &end, 10);
        if (*t == '\0' || *end != '\0') return "bad integer";
        break;
      case 'u':
        if (*t == '-') return "bad unsigned integer";
        args[k].u = strtoull(t, &end, 10);
        if (*t == '\0' || *end != '\0') return "bad unsigned integer";
        break;
      case 'b':
        if (strcmp(t, "0") != 0 && strcmp(t, "1") != 0) return "bad bool (0 or 1)";
        args[k].u = (uint64_t)(t[0] == '1');
        break;
      case 's':
      case 'x':
        args[k].bytes = decode_hex(t, &length);
        if (!args[k].bytes) return "bad hex";
        break;
      case 'h':
        args[k].bytes = decode_hex(t, &length);
        if (!args[k].bytes || length != 32) return "hash must be 64 hex digits";
        break;
    }
  }
  return NULL;
}

static void command_fire(char **tokens, size_t count) {
  const tracepoint_t *tp = find_tracepoint(tokens[1]);
  if (!tp) { reply("error unknown tracepoint %s\n", tokens[1]); return; }
  /* Like Core: arguments are prepared (and so checked) only when a tracer has raised the semaphore. */
  if (!ACTIVE_SEM(tp)) { reply("fired %s 0\n", tp->name); return; }
  arg_t args[MAX_ARGS] = {0};
  const char *problem = decode_args(tp, tokens + 2, count - 2, args);
  if (problem) {
    free_args(args, MAX_ARGS);
    reply("error %s\n", problem);
    return;
  }
  tp->fire(args);
  free_args(args, MAX_ARGS);
  reply("fired %s 1\n", tp->name);
}

static void command_burst(char **tokens, size_t count) {
  if (count < 3) { reply("error usage: burst <net:*_message> <n> [payload_len] [per_second]\n"); return; }
  bool inbound = strcmp(tokens[1], "net:inbound_message") == 0;
  if (!inbound && strcmp(tokens[1], "net:outbound_message") != 0) {
    reply("error burst supports only net:inbound_message and net:outbound_message\n");
    return;
  }
  long long n = atoll(tokens[2]);
  size_t payload_len = count > 3 ? (size_t)atoll(tokens[3]) : 8;
  long long per_second = count > 4 ? atoll(tokens[4]) : 0;
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  unsigned char *payload = calloc(payload_len + PAYLOAD_SLACK, 1);
  for (size_t k = 0; k < payload_len; k++) payload[k] = (unsigned char)k;
  long long fired = 0;
  for (long long k = 0; k < n; k++) {
    if (per_second > 0) { /* sleep until hit k's slot: an even rate, not bursts */
      long long due = (long long)start.tv_nsec + k * 1000000000LL / per_second;
      struct timespec at = {start.tv_sec + due / 1000000000LL, due % 1000000000LL};
      clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL);
    }
    if (inbound ? !ACTIVE(net, inbound_message) : !ACTIVE(net, outbound_message)) continue;
    if (inbound)
      STAP_PROBE6(net, inbound_message, (int64_t)k, "127.0.0.1:18444", "inbound", "ping", (uint64_t)payload_len,
                  (const unsigned char *)payload);
    else
      STAP_PROBE6(net, outbound_message, (int64_t)k, "127.0.0.1:18444", "inbound", "ping", (uint64_t)payload_len,
                  (const unsigned char *)payload);
    fired++;
  }
  free(payload);
  reply("fired %s %lld\n", tokens[1], fired);
}

int main(void) {
  char *line = NULL;
  size_t capacity = 0;
  while (getline(&line, &capacity, stdin) > 0) {
    char *tokens[MAX_TOKENS];
    size_t count = 0;
    for (char *t = strtok(line, " \t\r\n"); t && count < MAX_TOKENS; t = strtok(NULL, " \t\r\n")) tokens[count++] = t;
    if (count == 0) continue;
    if (strcmp(tokens[0], "ready") == 0) {
      printf("ready %d\n", (int)getpid());
      fflush(stdout);
    } else if (strcmp(tokens[0], "quit") == 0) {
      break;
    } else if (strcmp(tokens[0], "sem") == 0 && count == 2) {
      const tracepoint_t *tp = find_tracepoint(tokens[1]);
      if (!tp) reply("error unknown tracepoint %s\n", tokens[1]);
      else reply("sem %s %u\n", tp->name, (unsigned)*(volatile unsigned short *)tp->semaphore);
    } else if (strcmp(tokens[0], "fire") == 0 && count >= 2) {
      command_fire(tokens, count);
    } else if (strcmp(tokens[0], "burst") == 0) {
      command_burst(tokens, count);
    } else {
      reply("error unknown command %s\n", tokens[0]);
    }
  }
  free(line);
  return 0;
}
