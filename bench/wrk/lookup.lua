-- Lookups: GET /v1/parties/MSISDN/<alias> of a random registered alias, by a
-- random participant (the anti-scraping budget counts per participant).
--   HULIAN_WRK_DIR=DIR wrk -t2 -c64 -d10s --latency -s bench/wrk/lookup.lua URL
package.path = package.path .. ";bench/wrk/?.lua;" .. (os.getenv("HULIAN_WRK_LUA") or "") .. "/?.lua"
local c = require("common")

local keys, values

function setup(thread) c.setup(thread) end

function init(args)
  keys = c.parties()
  values = c.aliases()
  math.randomseed(os.time() + (thread_id or 0) * 7919)
end

function request()
  local v = values[math.random(#values)]
  return wrk.format("GET", "/v1/parties/MSISDN/" .. v, { ["Authorization"] = keys[math.random(#keys)] })
end

done = c.done
