/*
 * The aggregated views of ngx_http_hydra_module, written in njs: what a
 * user of Debian's libnginx-mod-http-js would write instead of the
 * module (bench/README.md, rows "pipeline" and "metrics").
 *
 *   js_import agg from .../bench/peers/agg.js;
 *   location /api/ { set $agg_repos "acme-r0 acme-r1 ..."; js_content agg.aggregate; }
 *   location /_repo/acme-r0/ { internal; proxy_pass http://acme-r0/; ... }
 *
 * One subrequest per repo, all in flight together (Promise.all), each
 * answer JSON.parse'd, merged by the module's rule (DESIGN.md 3), and
 * JSON.stringify'd: the same merge as the module, the same partial
 * answer ("hydra": {"answered": [...], "failed": {...}}).
 */

function isObject(v) {
    return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/* {"stages": {stage: [issue]}}: every stage a list */
function validPipeline(root) {
    if (!isObject(root) || !isObject(root.stages)) {
        return false;
    }
    for (const k in root.stages) {
        if (!Array.isArray(root.stages[k])) {
            return false;
        }
    }
    return true;
}

/* per stage, the repos' issues one repo after the other, tagged */
function mergePipeline(inputs, hydra) {
    const stages = {};
    let ready = true;

    for (let i = 0; i < inputs.length; i++) {
        const tag = inputs[i].repo;
        const root = inputs[i].root;
        const st = root.stages;

        if (root.ready === false) {
            ready = false;
        }

        for (const name in st) {
            const list = st[name];
            let out = stages[name];
            if (out === undefined) {
                out = stages[name] = [];
            }
            for (let j = 0; j < list.length; j++) {
                const item = list[j];
                if (isObject(item)) {
                    item.repo = tag;
                    out.push(item);
                }
            }
        }
    }

    return {stages: stages, ready: ready, hydra: hydra};
}

/* numbers added, lists joined, maps merged key by key, else the first */
function addInto(out, k, v) {
    const have = out[k];

    if (have === undefined || have === null) {
        if (Array.isArray(v)) {
            out[k] = v.slice();
        } else if (isObject(v)) {
            const o = {};
            for (const kk in v) {
                addInto(o, kk, v[kk]);
            }
            out[k] = o;
        } else {
            out[k] = v;
        }
        return;
    }

    if (typeof have === 'number') {
        if (typeof v === 'number') {
            out[k] = have + v;
        }
    } else if (Array.isArray(have)) {
        if (Array.isArray(v)) {
            for (let i = 0; i < v.length; i++) {
                have.push(v[i]);
            }
        }
    } else if (isObject(have) && isObject(v)) {
        for (const kk in v) {
            addInto(have, kk, v[kk]);
        }
    }
}

const LIFETIME_DEFAULTS = [
    ['issues_completed', 0], ['prs_merged', 0], ['issues_created', 0],
    ['total_quality_fix_rounds', 0], ['total_ci_fix_rounds', 0],
    ['total_hitl_escalations', 0], ['total_review_request_changes', 0],
    ['total_review_approvals', 0], ['total_reviewer_fixes', 0],
    ['total_outcomes_merged', 0], ['total_outcomes_already_satisfied', 0],
    ['total_outcomes_hitl_closed', 0], ['total_outcomes_hitl_skipped', 0],
    ['total_outcomes_failed', 0], ['total_outcomes_manual_close', 0],
    ['total_outcomes_hitl_approved', 0],
    ['total_implementation_seconds', 0], ['total_review_seconds', 0]
];

/* Python's round(x, 1) as printf does it */
function round1(x) {
    return Number(x.toFixed(1));
}

function num(v) {
    return typeof v === 'number' ? v : 0;
}

function mergeMetrics(inputs, hydra) {
    const lifetime = {};
    const il = {};
    const is = {};
    let retries = null;
    let fired = null;
    let seen = null;

    for (let i = 0; i < inputs.length; i++) {
        const tag = inputs[i].repo;
        const root = inputs[i].root;
        const lt = root.lifetime;

        if (isObject(lt)) {
            for (const k in lt) {
                const v = lt[k];

                if (k === 'retries_per_stage') {
                    /* issue numbers of two repos never meet */
                    if (retries === null) {
                        retries = lifetime[k] = {};
                    }
                    if (isObject(v)) {
                        for (const issue in v) {
                            retries[tag + '#' + issue] = v[issue];
                        }
                    }

                } else if (k === 'fired_thresholds') {
                    if (fired === null) {
                        fired = lifetime[k] = [];
                        seen = {};
                    }
                    if (Array.isArray(v)) {
                        for (let j = 0; j < v.length; j++) {
                            if (typeof v[j] === 'string' && !seen[v[j]]) {
                                seen[v[j]] = true;
                                fired.push(v[j]);
                            }
                        }
                    }

                } else if (k !== 'hydra') {
                    addInto(lifetime, k, v);
                }
            }
        }

        if (isObject(root.inference_lifetime)) {
            for (const k in root.inference_lifetime) {
                addInto(il, k, root.inference_lifetime[k]);
            }
        }
        if (isObject(root.inference_session)) {
            for (const k in root.inference_session) {
                addInto(is, k, root.inference_session[k]);
            }
        }
    }

    for (let i = 0; i < LIFETIME_DEFAULTS.length; i++) {
        if (!(LIFETIME_DEFAULTS[i][0] in lifetime)) {
            lifetime[LIFETIME_DEFAULTS[i][0]] = LIFETIME_DEFAULTS[i][1];
        }
    }
    if (!('merge_durations' in lifetime)) {
        lifetime.merge_durations = [];
    }
    if (!('retries_per_stage' in lifetime)) {
        lifetime.retries_per_stage = {};
    }
    if (!('fired_thresholds' in lifetime)) {
        lifetime.fired_thresholds = [];
    }

    /* rates from the fleet's sums, never averages of the repos' rates */
    const rates = {};
    const issues = num(lifetime.issues_completed);
    const reviews = num(lifetime.total_review_approvals)
                    + num(lifetime.total_review_request_changes);

    if (issues > 0) {
        rates.merge_rate = num(lifetime.prs_merged) / issues;
        rates.quality_fix_rate = num(lifetime.total_quality_fix_rounds)
                                 / issues;
        rates.hitl_escalation_rate = num(lifetime.total_hitl_escalations)
                                     / issues;
        rates.avg_implementation_seconds =
            num(lifetime.total_implementation_seconds) / issues;
    }
    if (reviews > 0) {
        rates.first_pass_approval_rate =
            num(lifetime.total_review_approvals) / reviews;
        rates.reviewer_fix_rate = num(lifetime.total_reviewer_fixes) / reviews;
    }

    let total = 0;
    const rps = lifetime.retries_per_stage;
    for (const issue in rps) {
        const stages = rps[issue];
        if (isObject(stages)) {
            for (const s in stages) {
                total += num(stages[s]);
            }
        }
    }
    if (total > 0) {
        rates.retries_per_stage = total;
    }

    /* avg, p50, p90 over every repo's merge_durations together */
    const d = [];
    const md = lifetime.merge_durations;
    if (Array.isArray(md)) {
        for (let i = 0; i < md.length; i++) {
            if (typeof md[i] === 'number') {
                d.push(md[i]);
            }
        }
    }

    const ttm = {};
    if (d.length > 0) {
        const n = d.length;
        let sum = 0;
        d.sort((a, b) => a - b);
        for (let i = 0; i < n; i++) {
            sum += d[i];
        }
        ttm.avg = round1(sum / n);
        ttm.p50 = round1(d[n >> 1]);
        ttm.p90 = round1(d[Math.min(Math.floor(n * 0.9), n - 1)]);
    }

    return {lifetime: lifetime, rates: rates, time_to_merge: ttm,
            thresholds: [], inference_lifetime: il, inference_session: is,
            hydra: hydra};
}

const VIEWS = {
    '/api/pipeline': [validPipeline, mergePipeline],
    '/api/metrics': [isObject, mergeMetrics]
};

async function aggregate(r) {
    const view = VIEWS[r.uri];

    if (view === undefined) {
        r.headersOut['Content-Type'] = 'application/json';
        r.return(400, JSON.stringify({error: r.uri
                                             + ' has no merge rule: add ?repo='}));
        return;
    }

    const repos = r.variables.agg_repos.split(' ');
    const pending = [];

    for (let i = 0; i < repos.length; i++) {
        pending.push(r.subrequest('/_repo/' + repos[i] + r.uri));
    }

    const replies = await Promise.all(pending);
    const inputs = [];
    const answered = [];
    const failed = {};

    for (let i = 0; i < replies.length; i++) {
        const reply = replies[i];
        let root;

        if (reply.status !== 200) {
            failed[repos[i]] = 'http ' + reply.status;
            continue;
        }

        try {
            root = JSON.parse(reply.responseText);
        } catch (e) {
            failed[repos[i]] = 'bad json';
            continue;
        }

        if (!view[0](root)) {
            failed[repos[i]] = 'bad shape';
            continue;
        }

        inputs.push({repo: repos[i], root: root});
        answered.push(repos[i]);
    }

    if (inputs.length === 0) {
        r.headersOut['Content-Type'] = 'application/json';
        r.return(502, JSON.stringify({error: 'no repo answered',
                                      failed: failed}));
        return;
    }

    const body = view[1](inputs, {answered: answered, failed: failed});

    r.headersOut['Content-Type'] = 'application/json';
    r.return(200, JSON.stringify(body));
}

export default {aggregate};
