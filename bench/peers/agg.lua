-- The aggregated views of ngx_http_hydra_module, written for Debian's
-- libnginx-mod-http-lua with lua-cjson: what a user would write instead
-- of the module (bench/README.md, rows "pipeline" and "metrics").
--
--   location /api/ { set $agg_repos "acme-r0 acme-r1 ...";
--                    content_by_lua_file .../bench/peers/agg.lua; }
--   location /_repo/acme-r0/ { internal; proxy_pass http://acme-r0/; ... }
--
-- One subrequest per repo, all in flight together (capture_multi), each
-- answer cjson-decoded, merged by the module's rule (DESIGN.md 3) and
-- cjson-encoded: the same merge and the same partial answer as the
-- module.  The top-level object is written piecewise because Debian's
-- lua-cjson 2.1.0 has no empty-array marker: an empty Lua table encodes
-- as {}, so "[]" (thresholds, an empty stage) is written by hand.
--
-- content_by_lua_file runs this chunk for every request: the functions
-- below are made once, on the first request of the worker, and kept in
-- package.loaded (as a required module would be); later requests only
-- call handle().

local cached = package.loaded.hydra_bench_agg

if cached ~= nil then
    return cached.handle()
end

local cjson = require "cjson"

local decode = cjson.decode
local encode = cjson.encode
local null = cjson.null
local capture_multi = ngx.location.capture_multi
local type, pairs, tonumber, pcall = type, pairs, tonumber, pcall
local sort, floor, min = table.sort, math.floor, math.min
local format = string.format

-- the repo list of the configuration, split once per distinct value
local repos_cache = {}

local function repo_list(s)
    local list = repos_cache[s]
    if list == nil then
        list = {}
        for tag in s:gmatch("%S+") do
            list[#list + 1] = tag
        end
        repos_cache[s] = list
    end
    return list
end

local function is_array(v)
    -- cjson gives a JSON list as a table with keys 1..n
    return type(v) == "table" and (v[1] ~= nil or next(v) == nil)
end

local function valid_pipeline(root)
    if type(root) ~= "table" or type(root.stages) ~= "table" then
        return false
    end
    for _, list in pairs(root.stages) do
        if type(list) ~= "table" then
            return false
        end
    end
    return true
end

local function valid_object(root)
    return type(root) == "table"
end

local function encode_list(list)
    if #list == 0 then
        return "[]"
    end
    return encode(list)
end

-- per stage, the repos' issues one repo after the other, tagged
local function merge_pipeline(inputs, hydra)
    local stages, order = {}, {}
    local ready = true

    for i = 1, #inputs do
        local tag, root = inputs[i].repo, inputs[i].root
        if root.ready == false then
            ready = false
        end
        for name, list in pairs(root.stages) do
            local out = stages[name]
            if out == nil then
                out = {}
                stages[name] = out
                order[#order + 1] = name
            end
            local n = #out
            for j = 1, #list do
                local item = list[j]
                if type(item) == "table" then
                    item.repo = tag
                    n = n + 1
                    out[n] = item
                end
            end
        end
    end

    local parts, np = { '{"stages":{' }, 1
    for k = 1, #order do
        local name = order[k]
        np = np + 1
        parts[np] = (k > 1 and "," or "") .. encode(name) .. ":"
                    .. encode_list(stages[name])
    end
    parts[np + 1] = '},"ready":' .. (ready and "true" or "false")
                    .. ',"hydra":' .. hydra .. "}"
    return parts
end

-- numbers added, lists joined, maps merged key by key, else the first
local function add_into(out, k, v)
    local have = out[k]
    local tv = type(v)

    if have == nil or have == null then
        if tv == "table" then
            local o = {}
            if is_array(v) then
                for j = 1, #v do
                    o[j] = v[j]
                end
            else
                for kk, vv in pairs(v) do
                    add_into(o, kk, vv)
                end
            end
            out[k] = o
        else
            out[k] = v
        end
        return
    end

    local th = type(have)
    if th == "number" then
        if tv == "number" then
            out[k] = have + v
        end
    elseif th == "table" and tv == "table" then
        if is_array(have) and v[1] ~= nil then
            local n = #have
            for j = 1, #v do
                have[n + j] = v[j]
            end
        elseif not is_array(v) then
            for kk, vv in pairs(v) do
                add_into(have, kk, vv)
            end
        end
    end
end

local LIFETIME_ZEROES = {
    "issues_completed", "prs_merged", "issues_created",
    "total_quality_fix_rounds", "total_ci_fix_rounds",
    "total_hitl_escalations", "total_review_request_changes",
    "total_review_approvals", "total_reviewer_fixes",
    "total_outcomes_merged", "total_outcomes_already_satisfied",
    "total_outcomes_hitl_closed", "total_outcomes_hitl_skipped",
    "total_outcomes_failed", "total_outcomes_manual_close",
    "total_outcomes_hitl_approved",
    "total_implementation_seconds", "total_review_seconds",
}

-- Python's round(x, 1), as printf rounds
local function round1(x)
    return tonumber(format("%.1f", x))
end

local function num(v)
    return type(v) == "number" and v or 0
end

local function merge_metrics(inputs, hydra)
    local lifetime, il, is = {}, {}, {}
    local retries, fired, seen

    for i = 1, #inputs do
        local tag, root = inputs[i].repo, inputs[i].root
        local lt = root.lifetime
        if type(lt) == "table" then
            for k, v in pairs(lt) do
                if k == "retries_per_stage" then
                    -- issue numbers of two repos never meet
                    if retries == nil then
                        retries = {}
                        lifetime[k] = retries
                    end
                    if type(v) == "table" then
                        for issue, stages in pairs(v) do
                            retries[tag .. "#" .. issue] = stages
                        end
                    end
                elseif k == "fired_thresholds" then
                    if fired == nil then
                        fired, seen = {}, {}
                        lifetime[k] = fired
                    end
                    if type(v) == "table" then
                        for j = 1, #v do
                            local name = v[j]
                            if type(name) == "string" and not seen[name] then
                                seen[name] = true
                                fired[#fired + 1] = name
                            end
                        end
                    end
                elseif k ~= "hydra" then
                    add_into(lifetime, k, v)
                end
            end
        end
        if type(root.inference_lifetime) == "table" then
            for k, v in pairs(root.inference_lifetime) do
                add_into(il, k, v)
            end
        end
        if type(root.inference_session) == "table" then
            for k, v in pairs(root.inference_session) do
                add_into(is, k, v)
            end
        end
    end

    for j = 1, #LIFETIME_ZEROES do
        if lifetime[LIFETIME_ZEROES[j]] == nil then
            lifetime[LIFETIME_ZEROES[j]] = 0
        end
    end

    -- rates from the fleet's sums, never averages of the repos' rates
    local rates = {}
    local issues = num(lifetime.issues_completed)
    local reviews = num(lifetime.total_review_approvals)
                    + num(lifetime.total_review_request_changes)
    if issues > 0 then
        rates.merge_rate = num(lifetime.prs_merged) / issues
        rates.quality_fix_rate = num(lifetime.total_quality_fix_rounds) / issues
        rates.hitl_escalation_rate = num(lifetime.total_hitl_escalations)
                                     / issues
        rates.avg_implementation_seconds =
            num(lifetime.total_implementation_seconds) / issues
    end
    if reviews > 0 then
        rates.first_pass_approval_rate =
            num(lifetime.total_review_approvals) / reviews
        rates.reviewer_fix_rate = num(lifetime.total_reviewer_fixes) / reviews
    end
    local total = 0
    if retries ~= nil then
        for _, stages in pairs(retries) do
            if type(stages) == "table" then
                for _, c in pairs(stages) do
                    total = total + num(c)
                end
            end
        end
    end
    if total > 0 then
        rates.retries_per_stage = total
    end

    -- avg, p50, p90 over every repo's merge_durations together
    local d, n = {}, 0
    local md = lifetime.merge_durations
    if type(md) == "table" then
        for j = 1, #md do
            if type(md[j]) == "number" then
                n = n + 1
                d[n] = md[j]
            end
        end
    end
    local ttm = "{}"
    if n > 0 then
        local sum = 0
        sort(d)
        for j = 1, n do
            sum = sum + d[j]
        end
        ttm = encode({ avg = round1(sum / n),
                       p50 = round1(d[floor(n / 2) + 1]),
                       p90 = round1(d[min(floor(n * 0.9), n - 1) + 1]) })
    end

    -- the lists that may be empty, written as lists
    local durations = lifetime.merge_durations
    local thresholds = lifetime.fired_thresholds
    lifetime.merge_durations = nil
    lifetime.fired_thresholds = nil
    local lt = encode(lifetime)
    lt = lt:sub(1, -2) .. (lt == "{}" and "" or ",")
         .. '"merge_durations":' .. encode_list(durations or {})
         .. ',"fired_thresholds":' .. encode_list(thresholds or {}) .. "}"

    return { '{"lifetime":', lt, ',"rates":', encode(rates),
             ',"time_to_merge":', ttm, ',"thresholds":[]',
             ',"inference_lifetime":', encode(il),
             ',"inference_session":', encode(is),
             ',"hydra":', hydra, "}" }
end

local VIEWS = {
    ["/api/pipeline"] = { valid_pipeline, merge_pipeline },
    ["/api/metrics"] = { valid_object, merge_metrics },
}

local function handle()
    local view = VIEWS[ngx.var.uri]
    if view == nil then
        ngx.status = 400
        ngx.header["Content-Type"] = "application/json"
        ngx.print(encode({ error = ngx.var.uri .. " has no merge rule: add ?repo=" }))
        return
    end

    local repos = repo_list(ngx.var.agg_repos)
    local reqs = {}
    for i = 1, #repos do
        reqs[i] = { "/_repo/" .. repos[i] .. ngx.var.uri }
    end

    local replies = { capture_multi(reqs) }
    local inputs, answered, failed = {}, {}, {}

    for i = 1, #replies do
        local reply, tag = replies[i], repos[i]
        local reason
        if reply.status ~= 200 then
            reason = "http " .. reply.status
        elseif reply.truncated then
            reason = "truncated"
        else
            local ok, root = pcall(decode, reply.body)
            if not ok then
                reason = "bad json"
            elseif not view[1](root) then
                reason = "bad shape"
            else
                inputs[#inputs + 1] = { repo = tag, root = root }
                answered[#answered + 1] = tag
            end
        end
        if reason then
            failed[tag] = reason
        end
    end

    ngx.header["Content-Type"] = "application/json"

    if #inputs == 0 then
        ngx.status = 502
        ngx.print(encode({ error = "no repo answered", failed = failed }))
        return
    end

    local hydra = '{"answered":' .. encode_list(answered) .. ',"failed":'
                  .. encode(failed) .. "}"

    ngx.print(view[2](inputs, hydra))
end

package.loaded.hydra_bench_agg = { handle = handle }

return handle()
