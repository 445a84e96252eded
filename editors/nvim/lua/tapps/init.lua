--- tapps-lsp for Neovim 0.11+: ruff + mypy findings and a 0-100 quality score.
---
---   require("tapps").setup({
---     cmd = { "tapps-lsp" },               -- how to start the server (stdio)
---     filetypes = { "python" },
---     root_markers = { "pyproject.toml", "setup.cfg", "setup.py", "mypy.ini", ".mypy.ini", ".git" },
---     settings = {},                       -- the `tapps` settings (see the README), e.g.
---                                          -- { scoreThreshold = 80, mypy = { enabled = false } }
---     trusted = false,                     -- workspace trust: true, or function(root_dir) -> boolean;
---                                          -- a trusted workspace may choose programs (its .venv,
---                                          -- [tool.tapps] tool paths, mypy plugins)
---     capabilities = nil,                  -- merged over Neovim's client capabilities
---     on_attach = nil,                     -- function(client, bufnr)
---     diagnostic_refresh = true,           -- answer workspace/diagnostic/refresh (see below)
---     user_commands = true,                -- :Tapps, :TappsScore, :TappsReviewWorkspace, :TappsClearCache,
---                                          -- :TappsWorkflow, :TappsRuns
---     score_view = "float",                -- :TappsScore (and :TappsRuns) in a floating window, or "echo"
---     complete_timeout_ms = 1000,          -- :TappsWorkflow completion waits this long for the server
---     statusline = {
---       score = "tapps %s",                -- %s: the score of the current buffer
---       progress = "tapps ⟳ %d%%",         -- %d: percentage of the running review
---       pending = "tapps …",               -- attached, no score yet
---       none = "",                         -- not attached
---     },
---     enable = true,                       -- call vim.lsp.enable("tapps")
---   })
---
--- Settings go to the server twice, as it expects: as initializationOptions and as
--- the answer to workspace/configuration for the section "tapps". `trustedWorkspace`
--- goes in initializationOptions only (the server reads it nowhere else), computed from
--- `trusted` for each root the client starts in.
---
--- Neovim 0.11 pulls diagnostics (textDocument/diagnostic) when the server offers
--- them, but only after didOpen/didChange, and it cannot answer the server's
--- workspace/diagnostic/refresh. tapps-lsp reviews on save, so without a refresh
--- the result of a save (and mypy's part of the first review) would never be pulled.
--- With `diagnostic_refresh` (the default) this module advertises refresh support
--- and pulls again for every attached buffer when the server asks.

local M = {}

M.name = "tapps"

local defaults = {
  cmd = { "tapps-lsp" },
  filetypes = { "python" },
  root_markers = { "pyproject.toml", "setup.cfg", "setup.py", "mypy.ini", ".mypy.ini", ".git" },
  settings = {},
  trusted = false,
  capabilities = nil,
  on_attach = nil,
  diagnostic_refresh = true,
  user_commands = true,
  score_view = "float",
  complete_timeout_ms = 1000,
  statusline = {
    score = "tapps %s",
    progress = "tapps ⟳ %d%%",
    pending = "tapps …",
    none = "",
  },
  enable = true,
}

M.options = vim.deepcopy(defaults)

--- Running work-done progress of tapps clients: [client_id][token] = {title, percentage, message}
local progress = {}
--- Last resultId pulled per buffer (sent back as previousResultId)
local result_ids = {}

local DIAGNOSTIC = "textDocument/diagnostic"
local REFRESH = "workspace/diagnostic/refresh"

local function notify(msg, level)
  vim.notify("tapps: " .. msg, level or vim.log.levels.INFO)
end

--- The tapps clients, of a buffer or all of them.
---@param bufnr integer?
---@return vim.lsp.Client[]
function M.clients(bufnr)
  return vim.lsp.get_clients({ name = M.name, bufnr = bufnr })
end

local function client_for(bufnr)
  local client = M.clients(bufnr)[1] or M.clients()[1]
  if not client then
    notify("no tapps-lsp client is running", vim.log.levels.WARN)
  end
  return client
end

-- Pull diagnostics ------------------------------------------------------------------

local function on_diagnostic(err, result, ctx)
  if result and result.resultId and ctx.bufnr then
    result_ids[ctx.bufnr] = result.resultId
  end
  return vim.lsp.diagnostic.on_diagnostic(err, result, ctx)
end

--- Pull diagnostics again for every loaded buffer the client is attached to.
---@param client vim.lsp.Client
function M.pull(client)
  for bufnr in pairs(client.attached_buffers) do
    if vim.api.nvim_buf_is_loaded(bufnr) then
      client:request(DIAGNOSTIC, {
        textDocument = { uri = vim.uri_from_bufnr(bufnr) },
        previousResultId = result_ids[bufnr],
      }, nil, bufnr)
    end
  end
end

local function on_refresh(_, _, ctx)
  local client = vim.lsp.get_client_by_id(ctx.client_id)
  if client then
    -- answer first, then pull (the server may be waiting for the answer)
    vim.schedule(function()
      M.pull(client)
    end)
  end
  return vim.NIL
end

-- Statusline ------------------------------------------------------------------------

--- The score diagnostic of a buffer (source "tapps", code "score"), or nil.
---@param bufnr integer?
---@return vim.Diagnostic?
function M.score_diagnostic(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  for _, client in ipairs(M.clients(bufnr)) do
    for _, is_pull in ipairs({ true, false }) do
      local ns = vim.lsp.diagnostic.get_namespace(client.id, is_pull)
      for _, d in ipairs(vim.diagnostic.get(bufnr, { namespace = ns })) do
        if d.source == "tapps" and d.code == "score" then
          return d
        end
      end
    end
  end
  return nil
end

--- The score numbers of a buffer (`data.score` of its score diagnostic), or nil.
---@param bufnr integer?
---@return table?
function M.score(bufnr)
  local d = M.score_diagnostic(bufnr)
  return d and vim.tbl_get(d, "user_data", "lsp", "data", "score") or nil
end

--- Running reviews: the lowest percentage of all running progress, or nil.
---@return integer?
function M.progress_percentage()
  local lowest
  for client_id, tokens in pairs(progress) do
    local client = vim.lsp.get_client_by_id(client_id)
    if not client or client:is_stopped() then
      progress[client_id] = nil
      tokens = {}
    end
    for _, p in pairs(tokens) do
      local pct = p.percentage or 0
      lowest = lowest and math.min(lowest, pct) or pct
    end
  end
  return lowest
end

--- For 'statusline': "tapps 82", "tapps ⟳ 37%" while a review runs, "" when not attached.
---@return string
function M.statusline()
  local fmt = M.options.statusline
  local pct = M.progress_percentage()
  if pct then
    return string.format(fmt.progress, pct)
  end
  local bufnr = vim.api.nvim_get_current_buf()
  if #M.clients(bufnr) == 0 then
    return fmt.none
  end
  local score = M.score(bufnr)
  if score == nil then
    return fmt.pending
  end
  return string.format(fmt.score, score.total == vim.NIL and "–" or tostring(score.total))
end

local function on_progress(ev)
  local client = vim.lsp.get_client_by_id(ev.data.client_id)
  if not client or client.name ~= M.name then
    return
  end
  local params = ev.data.params or {}
  local value = params.value or {}
  local tokens = progress[client.id] or {}
  progress[client.id] = tokens
  if value.kind == "end" then
    tokens[params.token] = nil
  elseif value.kind == "begin" then
    tokens[params.token] = { title = value.title, percentage = value.percentage, message = value.message }
  elseif value.kind == "report" and tokens[params.token] then
    local p = tokens[params.token]
    p.percentage = value.percentage or p.percentage
    p.message = value.message or p.message
  end
  pcall(vim.cmd.redrawstatus)
end

-- Commands --------------------------------------------------------------------------

--- Run a server command; `callback(err, result)`. Fires `User TappsCommand` with
--- data = { command, arguments, err, result } when it returns.
---@param command string
---@param arguments table? the LSP `arguments` array
---@param callback fun(err: table?, result: any)?
---@param bufnr integer?
function M.execute(command, arguments, callback, bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local client = client_for(bufnr)
  if not client then
    return
  end
  client:exec_cmd({ title = command, command = command, arguments = arguments }, { bufnr = bufnr }, function(err, result)
    if callback then
      callback(err, result)
    end
    vim.api.nvim_exec_autocmds("User", {
      pattern = "TappsCommand",
      modeline = false,
      data = { command = command, arguments = arguments, err = err, result = result },
    })
  end)
end

local function show_lines(title, lines)
  if M.options.score_view == "echo" then
    vim.api.nvim_echo({ { table.concat(lines, "\n") } }, true, {})
    return
  end
  local buf, win = vim.lsp.util.open_floating_preview(lines, "markdown", {
    border = "rounded",
    title = title,
    focus = false, -- a second command must not move the cursor into the first one's window
  })
  return buf, win
end

local function breakdown_lines(score, findings)
  local function shown(v)
    return (v == nil or v == vim.NIL) and "n/a" or tostring(v)
  end
  local lines = {}
  if score.total == nil or score.total == vim.NIL then
    lines[1] = "No quality score: " .. shown(score.reason)
  else
    lines[1] = string.format("**Quality %s/100**", score.total)
  end
  for _, key in ipairs({ "types", "lint", "complexity", "security" }) do
    table.insert(lines, string.format("- %-10s %s", key, shown(score[key])))
  end
  local lines_count = score.logical_lines or score.logicalLines
  if lines_count then
    table.insert(lines, string.format("- %-10s %s", "lines", shown(lines_count)))
  end
  if findings then
    local by_source = {}
    for _, f in ipairs(findings) do
      by_source[f.source] = (by_source[f.source] or 0) + 1
    end
    local parts = {}
    for source, n in vim.spairs(by_source) do
      table.insert(parts, source .. " " .. n)
    end
    table.insert(lines, "findings: " .. (#parts > 0 and table.concat(parts, ", ") or "none"))
  end
  return lines
end

--- :TappsScore: the current file's score breakdown (asks the server: tapps.scoreFile).
function M.show_score()
  local bufnr = vim.api.nvim_get_current_buf()
  M.execute("tapps.scoreFile", { { uri = vim.uri_from_bufnr(bufnr) } }, function(err, result)
    if err then
      notify("tapps.scoreFile failed: " .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
      return
    end
    local score = result and result.score
    if type(score) ~= "table" then
      notify("no score for this file")
      return
    end
    show_lines("tapps score", breakdown_lines(score, result.findings))
  end, bufnr)
end

--- :TappsReviewWorkspace: tapps.reviewWorkspace; progress shows through LspProgress.
---@param args table? { folder?, include?, exclude? }
function M.review_workspace(args)
  M.execute("tapps.reviewWorkspace", { args or vim.empty_dict() }, function(err, result)
    if err then
      notify("review failed: " .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
      return
    end
    local findings = vim.tbl_get(result, "findings", "total") or 0
    notify(string.format(
      "%s %d files · %d findings · mean score %s · %.1f s",
      result.cancelled and "cancelled after" or "reviewed",
      result.files or 0,
      findings,
      result.meanScore == vim.NIL and "n/a" or tostring(result.meanScore),
      (result.durationMs or 0) / 1000
    ))
  end)
end

--- :TappsClearCache [scope]
function M.clear_cache(scope)
  M.execute("tapps.clearCache", { scope and { scope = scope } or vim.empty_dict() }, function(err, result)
    if err then
      notify("clearCache failed: " .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
      return
    end
    notify(string.format("cache cleared (%d entries)", result.entriesRemoved or 0))
  end)
end

-- Workflows ---------------------------------------------------------------------------

--- The names of the workflows the server knows (tapps.listWorkflows), asked synchronously
--- for at most `complete_timeout_ms`: for completion. Empty without an answer.
---@return string[]
function M.workflow_names()
  local bufnr = vim.api.nvim_get_current_buf()
  local client = M.clients(bufnr)[1] or M.clients()[1]
  if not client then
    return {}
  end
  local answer = client:request_sync("workspace/executeCommand", {
    command = "tapps.listWorkflows",
    arguments = { vim.empty_dict() },
  }, M.options.complete_timeout_ms, bufnr)
  local names = {}
  for _, workflow in ipairs(vim.tbl_get(answer or {}, "result", "workflows") or {}) do
    table.insert(names, workflow.name)
  end
  return names
end

--- "standard: done · 6 findings · 2.1 s", and whether the run failed.
---@param name string
---@param answer table tapps.runWorkflow's answer: { runId, state, report? }
---@param seconds number
---@return string, boolean
function M.run_summary(name, answer, seconds)
  local report = answer.report ~= vim.NIL and answer.report or nil
  local parts = { string.format("%s: %s", name, answer.state) }
  local failures = report and report.failures or {}
  if report then
    local total = vim.tbl_get(report, "findings", "total") or 0
    table.insert(parts, string.format("%d finding%s", total, total == 1 and "" or "s"))
    -- a cancelled run lists its cancelled steps among the failures: its state says it
    if answer.state ~= "cancelled" then
      for _, failure in ipairs(failures) do
        local why = failure.error ~= vim.NIL and failure.error or nil
        table.insert(parts, failure.step .. " failed" .. (why and ": " .. why or ""))
      end
    end
    local skipped = vim.tbl_map(function(skip)
      return skip.step
    end, report.skipped or {})
    if #skipped > 0 then
      table.insert(parts, "skipped: " .. table.concat(skipped, ", "))
    end
  end
  table.insert(parts, string.format("%.1f s", seconds))
  local failed = answer.state == "failed" or (answer.state ~= "cancelled" and #failures > 0)
  return table.concat(parts, " · "), failed
end

--- :TappsWorkflow {name} [path...]: tapps.runWorkflow over the workspace (or the paths);
--- progress shows through LspProgress, then the summary is notified.
---@param name string
---@param paths string[]? files or folders (absolute)
function M.run_workflow(name, paths)
  local args = { workflow = name }
  if paths and #paths > 0 then
    args.paths = paths
  end
  local started = vim.uv.hrtime()
  M.execute("tapps.runWorkflow", { args }, function(err, result)
    if err then
      notify(name .. " failed: " .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
      return
    end
    local text, failed = M.run_summary(name, result, (vim.uv.hrtime() - started) / 1e9)
    notify(text, failed and vim.log.levels.WARN or vim.log.levels.INFO)
  end)
end

--- :TappsRuns: the workspace's recent workflow runs (tapps.listRuns), newest first.
---@param limit integer?
function M.show_runs(limit)
  M.execute("tapps.listRuns", { { limit = limit or 20 } }, function(err, result)
    if err then
      notify("listRuns failed: " .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
      return
    end
    local lines = {}
    for _, run in ipairs(result.runs or {}) do
      local at = type(run.startedAt) == "string" and (run.startedAt:sub(1, 19):gsub("T", " ")) or "?"
      table.insert(lines, string.format("- %s  %-14s %-11s %s", at, run.workflow, run.state, run.runId))
    end
    if #lines == 0 then
      notify("no workflow runs yet")
      return
    end
    show_lines("tapps runs", lines)
  end)
end

--- Command names the running server offers (executeCommandProvider.commands).
---@return string[]
function M.command_names()
  local names = {}
  for _, client in ipairs(M.clients()) do
    for _, name in ipairs(vim.tbl_get(client.server_capabilities or {}, "executeCommandProvider", "commands") or {}) do
      names[name] = true
    end
  end
  return vim.tbl_keys(names)
end

--- :Tapps <command> [json]: a JSON object is the one argument, a JSON array the arguments.
---@param line string
function M.run_command_line(line)
  local command, json = line:match("^%s*(%S+)%s*(.-)%s*$")
  if not command then
    notify("usage: :Tapps <command> [json-args]", vim.log.levels.WARN)
    return
  end
  local arguments = nil -- omitted, not []: a command without arguments gets none
  if json ~= "" then
    local ok, decoded = pcall(vim.json.decode, json)
    if not ok then
      notify("arguments are not JSON: " .. tostring(decoded), vim.log.levels.ERROR)
      return
    end
    arguments = vim.islist(decoded) and decoded or { decoded }
  end
  M.execute(command, arguments, function(err, result)
    if err then
      notify(command .. " failed: " .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
      return
    end
    show_lines(command, vim.split(vim.inspect(result), "\n"))
  end)
end

--- A completion function: `first()`'s names for the first argument, `rest(arglead)` after.
---@param first fun(): string[]
---@param rest (fun(arglead: string): string[])?
local function complete_first(first, rest)
  return function(arglead, cmdline)
    if cmdline:match("^%s*%S+%s+%S+%s") then
      return rest and rest(arglead) or {}
    end
    local names = vim.tbl_filter(function(name)
      return vim.startswith(name, arglead)
    end, first())
    table.sort(names)
    return names
  end
end

local function create_user_commands()
  vim.api.nvim_create_user_command("Tapps", function(o)
    M.run_command_line(o.args)
  end, {
    nargs = "+",
    desc = "tapps-lsp: run a server command, :Tapps <command> [json-args]",
    complete = complete_first(M.command_names), -- only the first argument is a command name
  })
  vim.api.nvim_create_user_command("TappsScore", function()
    M.show_score()
  end, { desc = "tapps-lsp: the current file's score breakdown" })
  vim.api.nvim_create_user_command("TappsReviewWorkspace", function(o)
    M.review_workspace(o.args ~= "" and { folder = vim.fn.fnamemodify(o.args, ":p") } or nil)
  end, { nargs = "?", complete = "dir", desc = "tapps-lsp: review every file of the workspace" })
  vim.api.nvim_create_user_command("TappsWorkflow", function(o)
    local paths = vim.tbl_map(function(path)
      return vim.fn.fnamemodify(path, ":p")
    end, vim.list_slice(o.fargs, 2))
    M.run_workflow(o.fargs[1], paths)
  end, {
    nargs = "+",
    desc = "tapps-lsp: run a review workflow, :TappsWorkflow <name> [path...]",
    -- the workflow first, then files and folders
    complete = complete_first(M.workflow_names, function(arglead)
      return vim.fn.getcompletion(arglead, "file")
    end),
  })
  vim.api.nvim_create_user_command("TappsRuns", function()
    M.show_runs()
  end, { desc = "tapps-lsp: the recent workflow runs" })
  vim.api.nvim_create_user_command("TappsClearCache", function(o)
    M.clear_cache(o.args ~= "" and vim.fn.fnamemodify(o.args, ":p") or nil)
  end, { nargs = "?", complete = "dir", desc = "tapps-lsp: clear the result cache" })
end

-- Setup -----------------------------------------------------------------------------

--- The vim.lsp.config table for these options (usable without setup()).
---@param opts table?
---@return vim.lsp.Config
function M.config(opts)
  opts = vim.tbl_deep_extend("force", vim.deepcopy(defaults), opts or {})
  local config = {
    cmd = opts.cmd,
    filetypes = opts.filetypes,
    root_markers = opts.root_markers,
    on_attach = opts.on_attach,
    handlers = { [DIAGNOSTIC] = on_diagnostic },
  }
  local settings = vim.deepcopy(opts.settings)
  settings.trustedWorkspace = nil
  if next(settings) ~= nil then
    config.init_options = settings
    config.settings = { tapps = settings }
  end
  local trusted = opts.trusted
  config.before_init = function(params, client_config)
    local trust = trusted
    if type(trusted) == "function" then
      trust = trusted(client_config.root_dir)
    end
    local init = type(params.initializationOptions) == "table" and params.initializationOptions or {}
    init.trustedWorkspace = trust == true
    params.initializationOptions = init
  end
  local capabilities = opts.capabilities or {}
  if opts.diagnostic_refresh then
    config.handlers[REFRESH] = on_refresh
    capabilities = vim.tbl_deep_extend("force", capabilities, {
      workspace = { diagnostics = { refreshSupport = true } },
    })
  end
  if next(capabilities) ~= nil then
    config.capabilities = capabilities
  end
  return config
end

---@param opts table?
function M.setup(opts)
  M.options = vim.tbl_deep_extend("force", vim.deepcopy(defaults), opts or {})
  vim.lsp.config(M.name, M.config(M.options))

  local group = vim.api.nvim_create_augroup("tapps", { clear = true })
  vim.api.nvim_create_autocmd("LspProgress", { group = group, callback = on_progress })
  vim.api.nvim_create_autocmd("DiagnosticChanged", {
    group = group,
    callback = function()
      pcall(vim.cmd.redrawstatus)
    end,
  })
  vim.api.nvim_create_autocmd("LspDetach", {
    group = group,
    callback = function(ev)
      result_ids[ev.buf] = nil
    end,
  })
  if M.options.user_commands then
    create_user_commands()
  end
  if M.options.enable then
    vim.lsp.enable(M.name)
  end
  return M
end

return M
