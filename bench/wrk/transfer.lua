-- Single transfers: POST /v1/transfers of 0.01 CNY to a random registered
-- alias, from a random participant other than its owner, each with an id
-- of its own (run, thread, counter), so that none is a retry. With
-- HULIAN_WRK_RISK=1 each also names one of 100,000 paying users
-- (payerAccount; each a user of one participant, the users split over
-- them) and the factors the wallet authenticated them with, as wallets
-- do for risk control (a switch older than them refuses them).
--   HULIAN_WRK_DIR=DIR wrk -t2 -c64 -d10s --latency -s bench/wrk/transfer.lua URL
package.path = package.path .. ";bench/wrk/?.lua;" .. (os.getenv("HULIAN_WRK_LUA") or "") .. "/?.lua"
local c = require("common")

local keys, values, owners
local run = os.getenv("HULIAN_WRK_RUN") or tostring(os.time())
local plain = os.getenv("HULIAN_WRK_RISK") ~= "1"
local n = 0

function setup(thread) c.setup(thread) end

local share

function init(args)
  keys = c.parties()
  share = math.max(1, math.floor(100000 / #keys))
  values, owners = c.aliases()
  math.randomseed(os.time() + (thread_id or 0) * 7919)
end

function request()
  local i = math.random(#values)
  local payer = math.random(#keys - 1)
  if payer >= owners[i] then payer = payer + 1 end -- never the payee's own participant
  n = n + 1
  local body
  if plain then
    body = string.format('{"id":"w%s-%d-%d","payee":{"type":"MSISDN","value":"%s"},"amount":"0.01","currency":"CNY"}',
      run, thread_id or 0, n, values[i])
  else
    body = string.format('{"id":"w%s-%d-%d","payee":{"type":"MSISDN","value":"%s"},"amount":"0.01","currency":"CNY",' ..
      '"payerAccount":"u-%d","authentication":{"factors":["pin","device"]}}',
      run, thread_id or 0, n, values[i], (payer - 1) * share + math.random(share))
  end
  return wrk.format("POST", "/v1/transfers", {
    ["Authorization"] = keys[payer],
    ["Content-Type"] = "application/json",
  }, body)
end

done = c.done
