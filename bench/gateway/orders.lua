-- wrk script: POST /orders as the order gateway and the baseline handlers
-- take them, optionally mixed with POST /carts (carts=P).
--
--   wrk -t2 -c64 -d10s --timeout 15s -s bench/gateway/orders.lua \
--       http://127.0.0.1:18080/orders -- items=1000 conns=64 threads=2
--
-- Arguments after "--", all key=value and optional:
--   items=N      items item-00000 .. item-<N-1> (1000), drawn zipf-like with
--                exponent s=S (1.1), as order-producer --generate does, so
--                the hot items are contended and run out first
--   unknown=P    percent of orders for an item that does not exist (0)
--   carts=P      percent of requests that are POST <carts_path> (0): a cart
--                of lines=L (3) distinct items drawn like the orders' items,
--                1..3 units each, its cart_id the Idempotency-Key
--   carts_path=P the carts route on the same host (/carts)
--   lines=L      lines per cart (3)
--   wait=N       Prefer: wait=N (10): the gateway answers 202 after N s
--   rate=R       pace to R requests/s in total (0: as fast as answered);
--                needs threads=T (wrk does not tell scripts its -t)
--   conns=C      wrk's -c, for the fallback pacing and the report
--   seed=K       random seed (1); each thread adds its id
--   token=T      send Authorization: Bearer T (order-gateway --auth-tokens)
--   run=ID       prefix of the Idempotency-Keys (default: the start time);
--                give each run its own, or the gateway answers a repeated key
--                with the earlier decision
-- Each request: Idempotency-Key <run>-<thread>-<n> (a cart's:
-- <run>-<thread>-c<n>), quantity 1..3.
-- done() prints per-status counts and a line "json: {...}" with the results
-- (bench/gateway/load turns that into its output). Besides wrk's own
-- figures over all requests, "kinds" has orders and carts apart: each
-- answer is matched to its request by the order_id in its body (the
-- Idempotency-Key: the gateway's answers, 202s included, and the baseline
-- handlers' carry it), its latency timed here from request() to
-- response() with the monotonic clock. Answers without an order_id (a
-- 5xx from elsewhere) count under "unmatched"; wrk's socket errors and
-- timeouts are only in the totals. A kind's latency_ms is corrected as
-- wrk corrects its own (stats_correct, before done() sees it: each answer
-- slower than twice the mean interval of a connection adds the samples of
-- the requests it held up, one every interval), so that the kinds compare
-- with wrk's totals; latency_raw_ms is the answers' own latencies.

local threads, nthreads = {}, 0
local start_id = tostring(os.time())

function setup(thread)
   nthreads = nthreads + 1
   thread:set("tid", nthreads)
   thread:set("default_run", start_id)
   table.insert(threads, thread)
end

-- Wall clock in seconds for pacing. LuaJIT's ffi reaches clock_gettime;
-- without it pacing falls back to a fixed per-connection delay.
local now
do
   local ok, ffi = pcall(require, "ffi")
   if ok then
      ok = pcall(ffi.cdef, [[
         typedef struct { long tv_sec; long tv_nsec; } orders_timespec;
         int clock_gettime(int clk_id, orders_timespec *tp);
      ]])
      if ok then
         local ts = ffi.new("orders_timespec")
         now = function()
            ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
            return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
         end
      end
   end
end

local function parse(args)
   local o = {}
   for _, a in ipairs(args) do
      local k, v = a:match("^([%w_]+)=(.*)$")
      if not k then error("orders.lua: argument '" .. a .. "' is not key=value") end
      o[k] = v
   end
   return o
end

function init(args)
   local o = parse(args)
   items = tonumber(o.items or 1000)
   local s = tonumber(o.s or 1.1)
   unknown = tonumber(o.unknown or 0) / 100
   carts = tonumber(o.carts or 0) / 100
   carts_path = o.carts_path or "/carts"
   nlines = tonumber(o.lines or 3)
   wait = tonumber(o.wait or 10)
   rate = tonumber(o.rate or 0)
   conns = tonumber(o.conns or 0)
   local nthr = tonumber(o.threads or 0)
   run = o.run or default_run
   math.randomseed(tonumber(o.seed or 1) * 7919 + tid)

   -- Cumulative popularity of item i (0-based) ~ 1/(i+1)^s.
   cdf = {}
   local total = 0
   for i = 1, items do
      total = total + 1 / i ^ s
      cdf[i] = total
   end
   for i = 1, items do cdf[i] = cdf[i] / total end
   names = {}
   for i = 1, items do names[i] = string.format("item-%05d", i - 1) end

   path = (wrk.path == nil or wrk.path == "/") and "/orders" or wrk.path
   headers = {["Content-Type"] = "application/json", ["Prefer"] = "wait=" .. wait}
   if o.token and o.token ~= "" then headers["Authorization"] = "Bearer " .. o.token end
   counter = 0
   if carts > 0 and nlines > items then error("orders.lua: lines= needs that many items") end
   sent_at = {}
   -- What done() reads with thread:get, numbers and strings only: wrk
   -- 4.1's thread:get of a table pops one value too many off the thread's
   -- Lua stack (script_copy_value), and a few of those crashed wrk in
   -- done(). So every count is a global of its own, named in the string
   -- `keys`, and every latency sample too ("lat:orders:<n>").
   keys, n_orders, n_carts, nlat_orders, nlat_carts = "", 0, 0, 0, 0

   -- Pacing. Per thread, each request claims the next free slot of a
   -- schedule at rate/threads, so the rate holds whatever the response
   -- time; the fixed delay conns/rate per connection (wrk's usual way)
   -- would fall short of the rate by the response time.
   if rate > 0 then
      if now and nthr > 0 then
         interval = nthr / rate
         next_slot = now()
         delay = function()
            local t = now()
            if next_slot < t then next_slot = t end
            local d = next_slot - t
            next_slot = next_slot + interval
            return d * 1000
         end
      elseif conns > 0 then
         local d = conns / rate * 1000
         delay = function() return d end
      else
         error("orders.lua: rate= needs threads= (or conns=)")
      end
   end
end

local function pick()
   if unknown > 0 and math.random() < unknown then return "no-such-item" end
   local u = math.random()
   local lo, hi = 1, items
   while lo < hi do
      local mid = math.floor((lo + hi) / 2)
      if cdf[mid] < u then lo = mid + 1 else hi = mid end
   end
   return names[lo]
end

local function cart_body()
   local seen, parts = {}, {}
   while #parts < nlines do
      local it = pick()
      if not seen[it] then
         seen[it] = true
         table.insert(parts, string.format('{"item":"%s","quantity":%d}', it, math.random(1, 3)))
      end
   end
   return '{"lines":[' .. table.concat(parts, ",") .. ']}'
end

function request()
   counter = counter + 1
   local key, req
   if carts > 0 and math.random() < carts then
      n_carts = n_carts + 1
      key = run .. "-" .. tid .. "-c" .. counter
      headers["Idempotency-Key"] = key
      req = wrk.format("POST", carts_path, headers, cart_body())
   else
      n_orders = n_orders + 1
      key = run .. "-" .. tid .. "-" .. counter
      headers["Idempotency-Key"] = key
      local body = string.format('{"item":"%s","quantity":%d}', pick(), math.random(1, 3))
      req = wrk.format("POST", path, headers, body)
   end
   if now then sent_at[key] = now() end
   return req
end

-- Counts "c:<what>:<kind>:<key>" (what: st status, rj reason; kind: all,
-- orders, carts, unmatched), each a global.
local function bump(what, kind, key)
   local name = "c:" .. what .. ":" .. kind .. ":" .. key
   local v = _G[name]
   if v == nil then keys = keys .. " " .. name end
   _G[name] = (v or 0) + 1
end

function response(status, hdrs, body)
   bump("st", "all", status)
   local reason
   if status == 409 and body then
      reason = body:match('"reason"%s*:%s*"([%w_]+)"') or "?"
      bump("rj", "all", reason)
   end
   local id = body and body:match('"order_id"%s*:%s*"([^"]+)"')
   local t0 = id and sent_at[id]
   if not t0 then
      bump("st", "unmatched", status)
      return
   end
   sent_at[id] = nil
   local ms = (now() - t0) * 1000
   local kind = id:find("-c%d+$") and "carts" or "orders"
   bump("st", kind, status)
   if reason then bump("rj", kind, reason) end
   if kind == "carts" then
      nlat_carts = nlat_carts + 1
      _G["lat:carts:" .. nlat_carts] = ms
   else
      nlat_orders = nlat_orders + 1
      _G["lat:orders:" .. nlat_orders] = ms
   end
end

local function quote(s)
   return '"' .. s:gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end) .. '"'
end

-- JSON of tables, numbers and strings, keys sorted.
local function json(v)
   local t = type(v)
   if t == "table" then
      local keys = {}
      for k in pairs(v) do table.insert(keys, k) end
      table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
      local parts = {}
      for _, k in ipairs(keys) do
         table.insert(parts, quote(tostring(k)) .. ":" .. json(v[k]))
      end
      return "{" .. table.concat(parts, ",") .. "}"
   elseif t == "number" then
      if v ~= v or v == math.huge or v == -math.huge then return "null" end
      if v == math.floor(v) and math.abs(v) < 2^53 then return string.format("%d", v) end
      return string.format("%.3f", v)
   elseif t == "string" then
      return quote(v)
   elseif t == "boolean" then
      return tostring(v)
   end
   return "null"
end

-- Percentile as wrk's stats_percentile takes it: the sample of rank
-- round(p/100 * n + 0.5), 1-based, of the sorted samples.
local function pct(xs, p)
   if #xs == 0 then return nil end
   return xs[math.min(#xs, math.max(1, math.floor(p / 100 * #xs + 1)))]
end

-- wrk's stats_correct on sorted latencies (ms), with its interval
-- (microseconds): for each sample of n us >= 2 * interval, one more at
-- n - interval, n - 2 * interval, ... while above the interval. Returns a
-- new sorted list.
local function corrected(xs, interval_us)
   if interval_us <= 0 then return xs end
   local out = {}
   for _, v in ipairs(xs) do
      table.insert(out, v)
      local n = math.floor(v * 1000)
      if n >= 2 * interval_us then
         local m = n - interval_us
         while m > interval_us do
            table.insert(out, m / 1000)
            m = m - interval_us
         end
      end
   end
   table.sort(out)
   return out
end

local function summary_of(xs)
   local n, sum = #xs, 0
   for _, v in ipairs(xs) do sum = sum + v end
   return {p50 = pct(xs, 50), p90 = pct(xs, 90), p99 = pct(xs, 99), max = xs[n], mean = n > 0 and sum / n or nil}
end

function done(summary, latency, requests)
   local sent = 0
   local kinds = {orders = {lat = {}, st = {}, rj = {}, sent = 0}, carts = {lat = {}, st = {}, rj = {}, sent = 0}}
   local all, unmatched = {st = {}, rj = {}}, {st = {}, rj = {}}
   local into = {all = all, unmatched = unmatched, orders = kinds.orders, carts = kinds.carts}
   for _, thread in ipairs(threads) do
      sent = sent + (thread:get("counter") or 0)
      for name in (thread:get("keys") or ""):gmatch("%S+") do
         local what, kind, key = name:match("^c:(%a+):(%a+):(.+)$")
         local t = into[kind][what]
         t[key] = (t[key] or 0) + (thread:get(name) or 0)
      end
      for kind, k in pairs(kinds) do
         for i = 1, thread:get("nlat_" .. kind) or 0 do table.insert(k.lat, thread:get("lat:" .. kind .. ":" .. i)) end
         k.sent = k.sent + (thread:get("n_" .. kind) or 0)
      end
   end
   local st, rj = all.st, all.rj
   local t1 = threads[1]
   local secs = summary.duration / 1e6
   -- wrk's interval: runtime / (complete / connections), integer division.
   local per_conn = math.floor(summary.requests / math.max(1, t1 and t1:get("conns") or 1))
   local interval_us = per_conn > 0 and math.floor(summary.duration / per_conn) or 0
   local by_kind = {}
   for kind, k in pairs(kinds) do
      table.sort(k.lat)
      local n = #k.lat
      by_kind[kind] = {
         sent = k.sent, answers = n, requests_per_s = n / secs, statuses = k.st, rejected = k.rj,
         latency_ms = summary_of(corrected(k.lat, interval_us)), latency_raw_ms = summary_of(k.lat),
      }
   end
   for code, n in pairs(st) do io.write(string.format("status %s: %d\n", code, n)) end
   for r, n in pairs(rj) do io.write(string.format("  409 %s: %d\n", r, n)) end
   local function ms(us) return us / 1000 end
   local e = summary.errors
   io.write("json: " .. json({
      url = string.format("%s://%s:%s%s", wrk.scheme, wrk.host, wrk.port or "", t1 and t1:get("path") or wrk.path),
      threads = #threads,
      connections = t1 and t1:get("conns") or 0,
      target_rate = t1 and t1:get("rate") or 0,
      items = t1 and t1:get("items") or 0,
      duration_s = secs,
      requests = summary.requests,
      sent = sent,
      requests_per_s = summary.requests / secs,
      latency_ms = {p50 = ms(latency:percentile(50)), p90 = ms(latency:percentile(90)),
                    p99 = ms(latency:percentile(99)), max = ms(latency.max), mean = ms(latency.mean)},
      statuses = st,
      rejected = rj,
      -- wrk's own "status" error count is every answer > 399, 409s included.
      socket_errors = {connect = e.connect, read = e.read, write = e.write, timeout = e.timeout},
      carts_pct = t1 and (t1:get("carts") or 0) * 100 or 0,
      kinds = by_kind,
      correction_interval_us = interval_us,
      unmatched = unmatched.st,
   }) .. "\n")
end
