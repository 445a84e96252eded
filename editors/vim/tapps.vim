" tapps-lsp for Vim through ALE: ruff + mypy findings and a 0-100 quality score
" (source `tapps`, on line 1) as ALE problems, on open and on every save.
"
" Use it from your vimrc (ALE must be on 'runtimepath'):
"   source /path/to/tapps-lsp/editors/vim/tapps.vim
"   let g:ale_linters = {'python': ['tapps']}
" or copy it to ~/.vim/ale_linters/python/tapps.vim.
"
" Settings (buffer-local b:ale_python_tapps_* variables override these):
"   g:ale_python_tapps_executable    'tapps-lsp'   the program to run
"   g:ale_python_tapps_options       ''            arguments after it, e.g. with
"       an interpreter as the executable: '-P -m tapps_lsp.server' (-P: the project's folder stays off sys.path)
"   g:ale_python_tapps_init_options  {}            initializationOptions
"   g:ale_python_tapps_config        {}            settings pushed with
"       workspace/didChangeConfiguration, e.g. {'tapps': {'scoreThreshold': 80}}
"
" The server reviews on open and on save: ALE's default g:ale_lint_on_save = 1
" sends didSave. Linting while typing only sends didChange, which tapps-lsp does
" not review, so g:ale_lint_on_text_changed = 'never' saves work.
"
" Tested headless in CI with Vim 9.0 and ALE 3.3 (Debian bookworm).

if exists('s:defined')
    finish
endif
let s:defined = 1

call ale#Set('python_tapps_executable', 'tapps-lsp')
call ale#Set('python_tapps_options', '')
call ale#Set('python_tapps_init_options', {})
call ale#Set('python_tapps_config', {})

function! s:Command(buffer) abort
    return '%e' . ale#Pad(ale#Var(a:buffer, 'python_tapps_options'))
endfunction

" The workspace folder: the nearest folder with pyproject.toml, setup.cfg,
" mypy.ini and the like, else the top of the package.
function! s:ProjectRoot(buffer) abort
    return ale#python#FindProjectRoot(a:buffer)
endfunction

function! s:Cwd(buffer) abort
    let l:root = s:ProjectRoot(a:buffer)

    return !empty(l:root) ? l:root : v:null
endfunction

call ale#linter#Define('python', {
\   'name': 'tapps',
\   'lsp': 'stdio',
\   'executable': {b -> ale#Var(b, 'python_tapps_executable')},
\   'command': function('s:Command'),
\   'cwd': function('s:Cwd'),
\   'project_root': function('s:ProjectRoot'),
\   'initialization_options': {b -> ale#Var(b, 'python_tapps_init_options')},
\   'lsp_config': {b -> ale#Var(b, 'python_tapps_config')},
\})

" ALE 3.3 (Debian bookworm's vim-ale) sends didSave's optional `text` with a
" literal backslash-n between lines (ale#util#GetBufferContents joins with '\n'
" in single quotes) whenever the server asks for it, as tapps-lsp does. ALE
" sends the full text in a didChange just before every didSave, so ask ALE to
" leave the broken copy out.
function! s:NoTextOnSave() abort
    let l:buffer = bufnr('')
    let l:conn_id = ale#Var(l:buffer, 'python_tapps_executable')
    \   . ':' . s:ProjectRoot(l:buffer)
    try
        let l:conn = get(ale#lsp#GetConnections(), l:conn_id, {})
    catch /^Vim\%((\a\+)\)\=:E117/
        return  " an ALE without this function: nothing to work around
    endtry

    if has_key(l:conn, 'capabilities')
        let l:conn.capabilities.includeText = 0
    endif
endfunction

augroup tapps_lsp_ale
    autocmd!
    autocmd User ALELSPStarted call s:NoTextOnSave()
augroup END
