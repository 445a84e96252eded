-- Headless Neovim (0.11+) end-to-end test of tapps-lsp through editors/nvim (our module).
--
--   cd <copy of tests/fixtures/basic> &&
--   TAPPS_NVIM_PLUGIN=editors/nvim TAPPS_NVIM_PYTHON=/path/python TAPPS_NVIM_OUT=out.json \
--     timeout 120 nvim --headless --clean -n -u tests/editors/nvim_e2e.lua
--
-- Env:
--   TAPPS_NVIM_PLUGIN   editors/nvim (put on 'runtimepath')
--   TAPPS_NVIM_PYTHON   the interpreter that runs `-m tapps_lsp.server` (absolute)
--   TAPPS_NVIM_OUT      where the JSON result is written
--   TAPPS_NVIM_TIMEOUT  per-wait timeout in ms (default 20000)
--   TAPPS_NVIM_REFRESH  "0": setup({diagnostic_refresh = false}) (to see nvim 0.11 alone)
--   TAPPS_NVIM_SNIPPET  a Lua file with the plain `vim.lsp.config` snippet of the README:
--                       test that instead of the module (its cmd is replaced by ours;
--                       the checks of the module's commands and statusline are left out)
--   TAPPS_NVIM_LSP_LOG  a vim.lsp log level ("debug") for debugging
-- Exit code: 0 all checks passed, 1 a check failed, 2 Lua error or watchdog.
local uv = vim.uv or vim.loop
local t0 = uv.hrtime()
local function ms()
  return math.floor((uv.hrtime() - t0) / 1e6)
end

vim.g.loaded_python3_provider = 0 -- ftplugin/python.vim would spawn python (~0.5 s)

local plugin = assert(os.getenv('TAPPS_NVIM_PLUGIN'), 'TAPPS_NVIM_PLUGIN is not set')
local python = assert(os.getenv('TAPPS_NVIM_PYTHON'), 'TAPPS_NVIM_PYTHON is not set')
local out_path = os.getenv('TAPPS_NVIM_OUT') or 'nvim-e2e-result.json'
local TIMEOUT = tonumber(os.getenv('TAPPS_NVIM_TIMEOUT') or '') or 20000
local REFRESH = os.getenv('TAPPS_NVIM_REFRESH') ~= '0'
local SNIPPET = os.getenv('TAPPS_NVIM_SNIPPET')
local MODULE = not SNIPPET
if os.getenv('TAPPS_NVIM_LSP_LOG') then
  vim.lsp.set_log_level(os.getenv('TAPPS_NVIM_LSP_LOG'))
end

local R = {
  nvim = tostring(vim.version()),
  cwd = vim.fn.getcwd(),
  diagnostic_refresh = REFRESH,
  mode = MODULE and 'module' or 'plain snippet',
  steps = {},
  checks = {},
  progress = {},
  requests = {},
  refreshes = {},
  messages = {},
  notifications = {},
}

local function step(name, data)
  table.insert(R.steps, { t_ms = ms(), name = name, data = data })
end
local function check(name, ok, detail)
  table.insert(R.checks, { name = name, ok = ok and true or false, t_ms = ms(), detail = detail })
  return ok
end

local finished = false
local function finish(code)
  if finished then
    return
  end
  finished = true
  R.total_ms = ms()
  R.exit_code = code
  local f = assert(io.open(out_path, 'w'))
  f:write(vim.json.encode(R))
  f:close()
  for _, c in ipairs(vim.lsp.get_clients()) do
    c:stop()
  end
  vim.wait(3000, function()
    return #vim.lsp.get_clients() == 0
  end, 10)
  vim.cmd('cquit ' .. code)
end

-- OUR module, from the repository, or the README's plain snippet ------------------------
local SETTINGS = {
  scoreThreshold = 95, -- checked through the score's severity
  -- a workflow that lasts long enough for the server to report its progress
  workflows = {
    slow = { steps = { wait = { uses = 'command', with = { argv = { python, '-c', 'import time; time.sleep(0.8)' } } } } },
  },
}
local tapps
local TRUST_ASKED_FOR -- the root the module's `trusted` was asked about
if MODULE then
  vim.opt.runtimepath:prepend(plugin)
  tapps = require('tapps')
  tapps.setup({
    cmd = { python, '-P', '-m', 'tapps_lsp.server' },
    settings = SETTINGS,
    diagnostic_refresh = REFRESH,
    -- workspace trust per root: the root the client started in is asked
    trusted = function(root_dir)
      TRUST_ASKED_FOR = root_dir
      return root_dir ~= nil
    end,
  })
else
  dofile(SNIPPET)
  vim.lsp.config('tapps', { cmd = { python, '-P', '-m', 'tapps_lsp.server' }, settings = { tapps = SETTINGS }, init_options = SETTINGS })
  -- what the harness needs of the module, without it
  tapps = {
    clients = function(bufnr)
      return vim.lsp.get_clients({ name = 'tapps', bufnr = bufnr })
    end,
    score_diagnostic = function(bufnr)
      for _, d in ipairs(vim.diagnostic.get(bufnr)) do
        if d.source == 'tapps' and d.code == 'score' then
          return d
        end
      end
    end,
    statusline = function()
      return ''
    end,
  }
end

-- count the server's workspace/diagnostic/refresh requests (wrap the module's handler)
local refresh_handler = vim.tbl_get(vim.lsp.config.tapps, 'handlers', 'workspace/diagnostic/refresh')
if refresh_handler then
  vim.lsp.config('tapps', {
    handlers = {
      ['workspace/diagnostic/refresh'] = function(err, result, ctx)
        table.insert(R.refreshes, ms())
        return refresh_handler(err, result, ctx)
      end,
    },
  })
end

-- what nvim sees -----------------------------------------------------------------------
local statusline_during_progress = {}
vim.api.nvim_create_autocmd('LspProgress', {
  callback = function(ev)
    local p = ev.data.params
    local line = tapps.statusline() -- the module's own LspProgress handler ran first
    table.insert(R.progress, {
      t_ms = ms(),
      token = p.token,
      kind = p.value.kind,
      title = p.value.title,
      message = p.value.message,
      percentage = p.value.percentage,
      statusline = line,
    })
    if p.value.kind ~= 'end' then
      table.insert(statusline_during_progress, line)
    end
  end,
})

local diag_requests = { pending = 0, complete = 0, cancel = 0 }
vim.api.nvim_create_autocmd('LspRequest', {
  callback = function(ev)
    local req = ev.data.request
    table.insert(R.requests, { t_ms = ms(), method = req.method, type = req.type })
    if req.method == 'textDocument/diagnostic' then
      diag_requests[req.type] = (diag_requests[req.type] or 0) + 1
    end
  end,
})

vim.api.nvim_create_autocmd('LspNotify', {
  callback = function(ev)
    table.insert(R.notifications, { t_ms = ms(), method = ev.data.method })
  end,
})

for _, m in ipairs({ 'window/logMessage', 'window/showMessage' }) do
  vim.lsp.handlers[m] = function(_, params)
    table.insert(R.messages, { t_ms = ms(), method = m, type = params.type, message = params.message })
    return vim.NIL
  end
end

local notify = vim.notify
vim.notify = function(msg, level, opts)
  table.insert(R.notifications, { t_ms = ms(), method = 'vim.notify', message = msg, level = level })
  return notify(msg, level, opts)
end
local function notified(pattern, after)
  for _, n in ipairs(R.notifications) do
    if n.method == 'vim.notify' and n.t_ms >= after and n.message:find(pattern) then
      return n.message
    end
  end
end

local command_results = {}
vim.api.nvim_create_autocmd('User', {
  pattern = 'TappsCommand',
  callback = function(ev)
    table.insert(command_results, { t_ms = ms(), command = ev.data.command, err = ev.data.err, result = ev.data.result })
  end,
})
--- A user command of the module; with the plain snippet, the same server command
local function run_command(cmdline, command, arguments)
  if MODULE then
    vim.cmd(cmdline)
    return
  end
  local client = tapps.clients()[1]
  client:exec_cmd({ title = command, command = command, arguments = arguments }, { bufnr = 0 }, function(err, result)
    table.insert(command_results, { t_ms = ms(), command = command, err = err, result = result })
  end)
end
local function command_result(name, after)
  for i = #command_results, 1, -1 do
    local r = command_results[i]
    if r.command == name and r.t_ms >= after then
      return r
    end
  end
end

local attached = false
vim.api.nvim_create_autocmd('LspAttach', {
  callback = function()
    attached = true
  end,
})

-- helpers ----------------------------------------------------------------------------
local function wait(fn)
  return vim.wait(TIMEOUT, fn, 10)
end

local function simplify(d)
  return {
    ns = vim.api.nvim_get_namespaces and (function()
      for name, id in pairs(vim.api.nvim_get_namespaces()) do
        if id == d.namespace then
          return name
        end
      end
    end)() or d.namespace,
    lnum = d.lnum,
    col = d.col,
    severity = d.severity,
    source = d.source,
    code = d.code,
    message = d.message,
  }
end
local function diags(buf)
  return vim.tbl_map(simplify, vim.diagnostic.get(buf))
end
local function find(buf, source, code)
  for _, d in ipairs(vim.diagnostic.get(buf)) do
    if d.source == source and (code == nil or d.code == code) then
      return d
    end
  end
end
local function stale(buf)
  for _, d in ipairs(vim.diagnostic.get(buf)) do
    if d.message:find('[stale]', 1, true) then
      return true
    end
  end
  return false
end
--- The text of a floating window that shows `needle`, once one does (nil after TIMEOUT).
local function float_with(needle)
  local found
  wait(function()
    for _, win in ipairs(vim.api.nvim_list_wins()) do
      if vim.api.nvim_win_get_config(win).relative ~= '' then
        local text = table.concat(vim.api.nvim_buf_get_lines(vim.api.nvim_win_get_buf(win), 0, -1, false), '\n')
        if text:find(needle, 1, true) then
          found = text
          return true
        end
      end
    end
    return false
  end)
  return found
end
local function open(rel)
  vim.cmd('edit ' .. vim.fn.fnameescape(rel))
  return vim.api.nvim_get_current_buf()
end

local function run()
  -- 1. diagnostics on open, pulled --------------------------------------------------
  local typeerr = open('app/typeerr.py')
  if not check('attached', wait(function()
    return attached
  end)) then
    return 1
  end
  local client = tapps.clients(typeerr)[1]
  local caps = client.server_capabilities
  step('attached', {
    server_info = client.server_info,
    offset_encoding = client.offset_encoding,
    diagnosticProvider = caps.diagnosticProvider,
    executeCommandProvider = caps.executeCommandProvider,
    textDocumentSync = caps.textDocumentSync,
    root_dir = client.root_dir,
  })
  check('server_offers_pull', type(caps.diagnosticProvider) == 'table', caps.diagnosticProvider)

  -- 2. :TappsReviewWorkspace -> $/progress via LspProgress ----------------------------------
  -- right away, on a fresh copy: mypy's first run makes it last well over the 300 ms
  -- below which the server sends no progress at all
  local progress_before = #R.progress
  local t = ms()
  run_command('TappsReviewWorkspace', 'tapps.reviewWorkspace', { vim.empty_dict() })
  local ok = wait(function()
    return command_result('tapps.reviewWorkspace', t) ~= nil
  end)
  local review = command_result('tapps.reviewWorkspace', t) or {}
  -- the end notification is sent before the response; allow for a late one anyway
  local began = #R.progress > progress_before
  _ = began and wait(function()
    for i = progress_before + 1, #R.progress do
      if R.progress[i].kind == 'end' then
        return true
      end
    end
    return false
  end)
  local kinds, title, tokens = {}, nil, {}
  local t_begin, t_end, last_pct, monotonic = nil, nil, -1, true
  for i = progress_before + 1, #R.progress do
    local p = R.progress[i]
    kinds[p.kind] = (kinds[p.kind] or 0) + 1
    title = title or p.title
    tokens[tostring(p.token)] = true
    t_begin = p.kind == 'begin' and p.t_ms or t_begin
    t_end = p.kind == 'end' and p.t_ms or t_end
    if p.percentage then
      monotonic = monotonic and p.percentage >= last_pct
      last_pct = p.percentage
    end
  end
  -- the server reports at least every 0.4 s, and on every change of stage: a report is
  -- certain when the work lasted longer than that after its begin (here: ~0.5-2.5 s)
  local span = t_begin and t_end and t_end - t_begin
  local report_due = span ~= nil and span >= 500
  check('review_workspace_progress', kinds.begin == 1 and kinds['end'] == 1
    and (kinds.report or 0) >= (report_due and 1 or 0)
    and vim.tbl_count(tokens) == 1 and monotonic, {
    kinds = kinds,
    title = title,
    tokens = vim.tbl_keys(tokens),
    begin_to_end_ms = span,
    percentages_monotonic = monotonic,
  })
  local summary = review.result or {}
  check('review_workspace_result', ok and review.err == nil and summary.files == 6, {
    err = review.err,
    files = summary.files,
    findings = summary.findings,
    meanScore = summary.meanScore,
    durationMs = summary.durationMs,
    cache = summary.cache,
  })
  if MODULE then
    local spinning = false
    for _, line in ipairs(statusline_during_progress) do
      spinning = spinning or line:find('⟳', 1, true) ~= nil
    end
    check('statusline_shows_progress', spinning and not tapps.statusline():find('⟳', 1, true), {
      during = statusline_during_progress,
      after = tapps.statusline(),
    })
  end

  -- 1. (continued) diagnostics of the open files ------------------------------------------
  ok = wait(function()
    return find(typeerr, 'mypy') and find(typeerr, 'tapps', 'score') and not stale(typeerr)
  end)
  step('typeerr_on_open', diags(typeerr))
  check('typeerr_on_open: mypy + score', ok, diags(typeerr))

  local lint = open('app/lint.py')
  ok = wait(function()
    return find(lint, 'ruff', 'F401') and find(lint, 'tapps', 'score') and not stale(lint)
  end)
  step('lint_on_open', diags(lint))
  check('lint_on_open: ruff F401 + score', ok, diags(lint))

  local pull_ns = vim.lsp.diagnostic.get_namespace(client.id, true)
  local push_ns = vim.lsp.diagnostic.get_namespace(client.id, false)
  local n_pull = #vim.diagnostic.get(nil, { namespace = pull_ns })
  local n_push = #vim.diagnostic.get(nil, { namespace = push_ns })
  check('diagnostics_pulled', diag_requests.complete >= 2 and n_pull > 0 and n_push == 0, {
    textDocument_diagnostic_requests = vim.deepcopy(diag_requests),
    in_pull_namespace = n_pull,
    in_push_namespace = n_push,
  })

  -- 3. edit + :w -> the save's review is pulled ------------------------------------------
  local refreshes_before = #R.refreshes
  local pulls_before = diag_requests.complete
  vim.api.nvim_buf_set_lines(lint, 0, 3, false, {}) -- "import os" and two blank lines
  -- what nvim shows for the unsaved edit (its didChange pull); the server reviews on save
  vim.wait(500, function()
    return diag_requests.complete > pulls_before
  end, 10)
  step('after_edit_before_save', { diagnostics = diags(lint), pulls = diag_requests.complete - pulls_before })
  local t_write = ms()
  local pulls_at_write = diag_requests.complete
  vim.cmd('silent write')
  local on_disk = vim.fn.readfile(vim.api.nvim_buf_get_name(lint))
  check('saved_to_disk', on_disk[1] == 'def identity(x: int) -> int:', on_disk)
  ok = wait(function()
    return diag_requests.complete > pulls_at_write
      and not find(lint, 'ruff', 'F401')
      and find(lint, 'tapps', 'score') ~= nil
  end)
  local sent = {}
  for _, n in ipairs(R.notifications) do
    if n.t_ms >= t_write then
      sent[n.method] = true
    end
  end
  step('lint_after_save', diags(lint))
  check('after_save: F401 gone, score kept', ok and sent['textDocument/didSave'] == true, {
    didSave_sent = sent['textDocument/didSave'] == true,
    pulls_after_write = diag_requests.complete - pulls_at_write,
    refreshes = #R.refreshes - refreshes_before,
    diagnostics = diags(lint),
  })

  -- 4. executeCommand round trip through :Tapps <command> <json> ---------------------------
  if MODULE then
    local completion = vim.fn.getcompletion('Tapps tapps.sc', 'cmdline')
    check('tapps_command_completion', vim.tbl_contains(completion, 'tapps.scoreFile'), completion)
  end
  local uri = vim.uri_from_bufnr(typeerr)
  t = ms()
  run_command('Tapps tapps.scoreFile ' .. vim.json.encode({ uri = uri }), 'tapps.scoreFile', { { uri = uri } })
  ok = wait(function()
    return command_result('tapps.scoreFile', t) ~= nil
  end)
  local scored = command_result('tapps.scoreFile', t) or {}
  local total = vim.tbl_get(scored, 'result', 'score', 'total')
  check('execute_command_score_file', ok and scored.err == nil and type(total) == 'number' and total < 100, {
    err = scored.err,
    score = vim.tbl_get(scored, 'result', 'score'),
    findings = #(vim.tbl_get(scored, 'result', 'findings') or {}),
  })

  -- settings reached the server: with scoreThreshold 95 a score below it is a Warning
  local severities, between = {}, false
  local consistent = true
  for _, buf in ipairs({ typeerr, lint }) do
    local sd = tapps.score_diagnostic(buf)
    local score = sd and sd.user_data.lsp.data.score.total
    local want = score and (score < 95 and vim.diagnostic.severity.WARN or vim.diagnostic.severity.INFO)
    consistent = consistent and sd ~= nil and sd.severity == want
    between = between or (score ~= nil and score >= 70 and score < 95)
    table.insert(severities, { file = vim.fn.bufname(buf), score = score, severity = sd and sd.severity })
  end
  check('settings_delivered', consistent and between, severities)

  -- tapps.printDebugInformation, as nvim sends it (arguments = []) and without arguments
  local trust
  for _, args in ipairs({ {}, vim.NIL }) do
    local info = client:request_sync('workspace/executeCommand', {
      command = 'tapps.printDebugInformation',
      arguments = args,
    }, TIMEOUT, typeerr)
    local folder = vim.tbl_get(info or {}, 'result', 'folders', 1) or {}
    trust = folder.trust
    step('printDebugInformation arguments=' .. vim.json.encode(args), {
      err = info and info.err,
      settings = folder.settings,
      client = vim.tbl_get(info or {}, 'result', 'client'),
    })
  end

  -- the module's `trusted` decides; the plain snippet says nothing: not trusted
  local want_trusted = MODULE and true or false
  check('workspace_trust', type(trust) == 'table' and trust.trusted == want_trusted
    and (not MODULE or TRUST_ASKED_FOR == client.config.root_dir), {
    trust = trust, asked_for = TRUST_ASKED_FOR, root = client.config.root_dir,
  })

  -- 5. statusline() and :TappsScore ------------------------------------------------------
  if MODULE then
    vim.cmd('buffer ' .. typeerr)
    local d = tapps.score_diagnostic(0)
    local shown = tapps.statusline()
    local expected = d and string.format('tapps %s', d.user_data.lsp.data.score.total)
    check('statusline_score', d ~= nil and shown == expected and shown:match('^tapps %d+$') ~= nil, {
      statusline = shown,
      expected = expected,
      score_diagnostic = d and d.message,
      scoreFile_total = total,
    })

    t = ms()
    vim.cmd('TappsScore')
    ok = wait(function()
      return command_result('tapps.scoreFile', t) ~= nil
    end)
    local float_text = float_with('Quality')
    check('tapps_score_float', ok and float_text ~= nil, float_text)
  end

  -- 6. :TappsWorkflow, :TappsRuns ------------------------------------------------------------
  if MODULE then
    local completion = vim.fn.getcompletion('TappsWorkflow ', 'cmdline')
    local listed = true
    for _, name in ipairs({ 'minimal', 'standard', 'comprehensive', 'full', 'slow' }) do
      listed = listed and vim.tbl_contains(completion, name)
    end
    local files = vim.fn.getcompletion('TappsWorkflow minimal app/li', 'cmdline')
    check('workflow_completion', listed and vim.tbl_contains(files, 'app/lint.py'), { workflows = completion, files = files })
  end
  t = ms()
  run_command('TappsWorkflow minimal', 'tapps.runWorkflow', { { workflow = 'minimal' } })
  ok = wait(function()
    return command_result('tapps.runWorkflow', t) ~= nil and (not MODULE or notified('^tapps: minimal: ', t))
  end)
  local minimal = command_result('tapps.runWorkflow', t) or {}
  local summary = notified('^tapps: minimal: done · %d+ findings? · [%d.]+ s$', t)
  check('workflow_minimal: done, ruff findings, summary', ok and minimal.err == nil
    and vim.tbl_get(minimal, 'result', 'state') == 'done'
    and (vim.tbl_get(minimal, 'result', 'report', 'findings', 'bySource', 'ruff') or 0) > 0
    and (not MODULE or summary ~= nil), {
    err = minimal.err,
    state = vim.tbl_get(minimal, 'result', 'state'),
    findings = vim.tbl_get(minimal, 'result', 'report', 'findings'),
    summary = summary,
  })

  -- comprehensive's docs step: its findings join the open buffer's diagnostics
  t = ms()
  run_command('TappsWorkflow comprehensive', 'tapps.runWorkflow', { { workflow = 'comprehensive' } })
  ok = wait(function()
    return command_result('tapps.runWorkflow', t) ~= nil and find(lint, 'tapps-docs') ~= nil
  end)
  local comprehensive = command_result('tapps.runWorkflow', t) or {}
  check('workflow_comprehensive: tapps-docs diagnostics', ok and vim.tbl_get(comprehensive, 'result', 'state') == 'done', {
    err = comprehensive.err,
    findings = vim.tbl_get(comprehensive, 'result', 'report', 'findings'),
    diagnostics = diags(lint),
  })

  -- a run that lasts: its steps in the progress, the statusline spinning
  local progress_at = #R.progress
  t = ms()
  run_command('TappsWorkflow slow', 'tapps.runWorkflow', { { workflow = 'slow' } })
  ok = wait(function()
    return command_result('tapps.runWorkflow', t) ~= nil
  end)
  local messages, spinning = {}, false
  for i = progress_at + 1, #R.progress do
    local p = R.progress[i]
    table.insert(messages, p.kind .. ': ' .. tostring(p.message or p.title))
    spinning = spinning or (p.kind ~= 'end' and p.statusline:find('⟳', 1, true) ~= nil)
  end
  local stepped = vim.iter(R.progress):skip(progress_at):any(function(p)
    return p.kind == 'report' and (p.message or ''):find('running: wait', 1, true) ~= nil
  end)
  check('workflow_progress: the running step, then end', ok and stepped and R.progress[#R.progress].kind == 'end'
    and (not MODULE or spinning), { messages = messages, spinning = spinning })

  if MODULE then
    t = ms()
    vim.cmd('TappsRuns')
    local runs_text = float_with('comprehensive')
    -- newest first: slow, comprehensive, minimal
    local at = function(name)
      return runs_text and runs_text:find('%s' .. name .. '%s') or nil
    end
    local slow_at, comprehensive_at, minimal_at = at('slow'), at('comprehensive'), at('minimal')
    check('tapps_runs_float: newest first', slow_at and comprehensive_at and minimal_at
      and slow_at < comprehensive_at and comprehensive_at < minimal_at, runs_text)
  end

  -- 7. :TappsClearCache ---------------------------------------------------------------------
  t = ms()
  run_command('TappsClearCache', 'tapps.clearCache', nil)
  ok = wait(function()
    return command_result('tapps.clearCache', t) ~= nil
  end)
  local cleared = command_result('tapps.clearCache', t) or {}
  local removed = vim.tbl_get(cleared, 'result', 'entriesRemoved')
  check('clear_cache', ok and cleared.err == nil and type(removed) == 'number' and removed > 0, cleared)

  step('requests_summary', vim.deepcopy(diag_requests))
  for _, c in ipairs(R.checks) do
    if not c.ok then
      return 1
    end
  end
  return 0
end

-- Run from the main loop, not inside VimEnter: autocommands do not nest, so a :w
-- inside an autocommand would fire no BufWritePost and send no didSave.
vim.api.nvim_create_autocmd('VimEnter', {
  callback = function()
    vim.schedule(function()
      vim.defer_fn(function()
        step('WATCHDOG')
        finish(2)
      end, 5 * TIMEOUT)
      local okay, code = xpcall(run, debug.traceback)
      if not okay then
        R.error = code
        code = 2
      end
      finish(code)
    end)
  end,
})
