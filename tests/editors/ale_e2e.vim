" Headless Vim + ALE test of editors/vim/tapps.vim. Run by tests/editors/test_emacs_vim.py:
"
"   TAPPS_E2E_CONFIG=editors/vim/tapps.vim TAPPS_E2E_PYTHON=/venv/bin/python \
"   TAPPS_E2E_ROOT=/tmp/copy-of-basic TAPPS_E2E_OUT=result.json \
"     timeout 60 vim -N -u NONE -i NONE -n -es -S tests/editors/ale_e2e.vim
"
" Writes {"checks": [{"name", "ok"}...], "steps": [...], "total_ms"} to TAPPS_E2E_OUT.
" Exit code: 0 all checks passed, 1 a check failed or a Vim error.
let s:t0 = reltime()
function! s:ms() abort
  return float2nr(reltimefloat(reltime(s:t0)) * 1000)
endfunction
let s:R = {'editor': 'Vim ' . v:version / 100 . '.' . v:version % 100, 'checks': [], 'steps': []}
let s:wait_ms = str2nr(empty($TAPPS_E2E_WAIT_S) ? '20' : $TAPPS_E2E_WAIT_S) * 1000

function! s:check(name, ok) abort
  call add(s:R.checks, {'name': a:name, 'ok': a:ok ? v:true : v:false, 't_ms': s:ms()})
  return a:ok
endfunction
function! s:step(name, data) abort
  call add(s:R.steps, {'t_ms': s:ms(), 'name': a:name, 'data': a:data})
endfunction

function! s:finish() abort
  let s:R.total_ms = s:ms()
  let l:ok = !empty(s:R.checks) && empty(filter(copy(s:R.checks), '!v:val.ok'))
  let s:R.exit = l:ok ? 0 : 1
  call writefile([json_encode(s:R)], $TAPPS_E2E_OUT)
  execute 'cquit ' . (l:ok ? 0 : 1)
endfunction

"" ALE needs jobs, channels and timers (Debian's vim has them, vim-tiny does not).
call s:check('vim_has_jobs', has('job') && has('channel') && has('timers'))
try
  let s:ale = empty($TAPPS_E2E_ALE) ? '/usr/share/vim-ale' : $TAPPS_E2E_ALE
  let &runtimepath = s:ale . ',' . &runtimepath . ',' . s:ale . '/after'
  filetype plugin on
  syntax off
  " What a user's vimrc would say (see editors/vim/README.md), with the server
  " started as `python -m tapps_lsp.server`: an editor started by CI need not have the
  " virtual environment on PATH.
  let g:ale_linters = {'python': ['tapps']}
  let g:ale_linters_explicit = 1
  let g:ale_lint_on_enter = 1
  let g:ale_lint_on_save = 1
  let g:ale_lint_on_text_changed = 'never'
  let g:ale_lint_on_insert_leave = 0
  let g:ale_python_tapps_executable = $TAPPS_E2E_PYTHON
  let g:ale_python_tapps_options = '-P -m tapps_lsp.server'
  " settings both ways the README shows, each one observable: mypy's error becomes
  " a warning, ruff's F401 an error
  let g:ale_python_tapps_init_options = {'severity': {'mypy:assignment': 'warning'}}
  let g:ale_python_tapps_config = {'tapps': {'severity': {'F401': 'error'}}}
  runtime plugin/ale.vim
  execute 'source ' . fnameescape($TAPPS_E2E_CONFIG)
  let s:R.editor .= ' + ALE ' . (exists('*ale#Has') && ale#Has('ale-3.3.0') ? '3.3+' : '?')
catch
  call s:step('ERROR', v:exception . ' at ' . v:throwpoint)
  call s:finish()
endtry

function! s:loclist(buf) abort
  return get(get(g:ale_buffer_info, a:buf, {}), 'loclist', [])
endfunction
" ALE keeps the LSP diagnostic's source in `detail` as "[source] message".
function! s:has(buf, source, code) abort
  for l:item in s:loclist(a:buf)
    if get(l:item, 'detail', '') =~# '^\[' . a:source . '\] ' && get(l:item, 'code', '') is# a:code
      return 1
    endif
  endfor
  return 0
endfunction
function! s:type(buf, code) abort
  for l:item in s:loclist(a:buf)
    if get(l:item, 'code', '') is# a:code
      return l:item.type
    endif
  endfor
  return ''
endfunction
function! s:clean(buf) abort
  let l:items = s:loclist(a:buf)
  return len(l:items) == 1 && get(l:items[0], 'detail', '') =~# '^\[tapps\] Quality \d\+/100'
endfunction
function! s:shown(buf) abort
  return map(deepcopy(s:loclist(a:buf)),
        \ {_, v -> {'lnum': v.lnum, 'col': v.col, 'type': v.type, 'code': get(v, 'code', ''),
        \           'detail': get(v, 'detail', v.text)}})
endfunction
" :sleep keeps Vim's channel, job and timer machinery running in -es mode.
function! s:wait(expr) abort
  let l:deadline = s:ms() + s:wait_ms
  while !eval(a:expr) && s:ms() < l:deadline
    sleep 20m
  endwhile
  return eval(a:expr)
endfunction

try
  " Open: ALE lints on BufEnter/BufRead (g:ale_lint_on_enter), which starts the
  " server and sends didOpen.
  execute 'edit ' . fnameescape($TAPPS_E2E_ROOT . '/app/typeerr.py')
  let s:typeerr = bufnr('%')
  call s:check('python_filetype', &filetype is# 'python')
  call s:check('typeerr_mypy_on_open',
        \ s:wait('s:has(s:typeerr, "mypy", "assignment") && s:has(s:typeerr, "tapps", "score")'))
  call s:check('typeerr_score_on_open', s:has(s:typeerr, 'tapps', 'score'))
  call s:check('init_options_delivered', s:type(s:typeerr, 'assignment') is# 'W')
  call s:step('typeerr_on_open', s:shown(s:typeerr))
  let s:roots = map(values(ale#lsp#GetConnections()), 'v:val.root')
  call s:check('workspace_root_is_project',
        \ index(s:roots, fnamemodify($TAPPS_E2E_ROOT, ':p:s?/$??')) >= 0)
  call s:step('connections', s:roots)
  " Our config turns off ALE 3.3's broken didSave text (see editors/vim/tapps.vim).
  let s:conn_id = $TAPPS_E2E_PYTHON . ':' . fnamemodify($TAPPS_E2E_ROOT, ':p:s?/$??')
  call s:check('save_text_off', ale#lsp#HasCapability(s:conn_id, 'did_save')
        \ && !ale#lsp#HasCapability(s:conn_id, 'includeText'))

  execute 'edit ' . fnameescape($TAPPS_E2E_ROOT . '/app/lint.py')
  let s:lint = bufnr('%')
  call s:check('lint_ruff_on_open',
        \ s:wait('s:has(s:lint, "ruff", "F401") && s:has(s:lint, "tapps", "score")'))
  call s:check('lint_score_on_open', s:has(s:lint, 'tapps', 'score'))
  call s:check('config_delivered', s:wait('s:type(s:lint, "F401") is# "E"'))
  call s:step('lint_on_open', s:shown(s:lint))

  " Remove the unused import and save: ALE sends didChange + didSave.
  let s:before = deepcopy(s:loclist(s:lint))
  1delete
  write
  call s:check('lint_ruff_gone_after_save',
        \ s:wait('s:loclist(s:lint) != s:before && !s:has(s:lint, "ruff", "F401")'
        \        . ' && s:has(s:lint, "tapps", "score")'))
  call s:check('lint_score_after_save', s:has(s:lint, 'tapps', 'score'))
  " The server reviewed the saved text: a number, and no error at all.
  call s:check('lint_clean_after_save', s:clean(s:lint))
  call s:step('lint_after_save', s:shown(s:lint))
  let s:t_stop = s:ms()
  ALEStopAllLSPs
  call s:step('shutdown', {'ms': s:ms() - s:t_stop})
catch
  call s:step('ERROR', v:exception . ' at ' . v:throwpoint)
endtry
call s:finish()
