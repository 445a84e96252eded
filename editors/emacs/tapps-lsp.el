;;; tapps-lsp.el --- Eglot configuration for tapps-lsp  -*- lexical-binding: t -*-

;; Runs tapps-lsp (ruff + mypy findings and a 0-100 quality score) for Python
;; buffers through Eglot.  Load it after Eglot, then M-x eglot in a Python file:
;;
;;   (with-eval-after-load 'eglot
;;     (load "/path/to/tapps-lsp/editors/emacs/tapps-lsp.el"))
;;
;; Tested headless in CI with Emacs 28.2 and Eglot 1.9 (Debian bookworm).

;;; Code:

(require 'cl-lib)
(require 'eglot)
(require 'project)
(require 'json)

(defgroup tapps-lsp nil
  "The tapps-lsp language server through Eglot."
  :group 'eglot
  :prefix "tapps-lsp-")

(defcustom tapps-lsp-command '("tapps-lsp")
  "The program and arguments that start tapps-lsp on stdio.
For example \\='(\"/path/to/venv/bin/python\" \"-m\" \"server\")."
  :type '(repeat string))

(defcustom tapps-lsp-initialization-options nil
  "A plist sent as `initializationOptions', e.g. (:scoreThreshold 80).
Per-project settings are better set in `eglot-workspace-configuration'
under the section :tapps (the server asks for it), or in the project's
pyproject.toml under [tool.tapps]."
  :type '(plist))

(defcustom tapps-lsp-trusted-directories nil
  "Directories whose projects tapps-lsp trusts to choose the programs it runs.
A project under one of them may name tool paths and an interpreter in its
[tool.tapps], and have its .venv and mypy plugins used; any other is not
trusted (sent as :trustedWorkspace in `initializationOptions', unless
`tapps-lsp-initialization-options' sets it).  Set it in your own init
file: Eglot takes `eglot-workspace-configuration' from a project's
.dir-locals.el without asking, so the server reads trust nowhere else."
  :type '(repeat directory))

(defcustom tapps-lsp-project-markers
  '("pyproject.toml" "setup.cfg" "mypy.ini" ".mypy.ini" "setup.py")
  "Files that mark a Python project's root outside version control.
Eglot uses the project root as the workspace folder; without a VCS
repository it would otherwise use the file's own directory.  A VCS
root still wins.  Set to nil to keep project.el's default."
  :type '(repeat string))

(defun tapps-lsp--trusted-p ()
  "Whether the current buffer's project is under `tapps-lsp-trusted-directories'."
  (let* ((project (project-current))
         (root (and project (expand-file-name (project-root project)))))
    (and root
         (cl-some (lambda (dir) (file-in-directory-p root (expand-file-name dir)))
                  tapps-lsp-trusted-directories)
         t)))

(defun tapps-lsp--contact (&optional _interactive)
  "The Eglot contact for tapps-lsp, read when a server starts."
  (let ((options (copy-sequence tapps-lsp-initialization-options)))
    (unless (plist-member options :trustedWorkspace)
      (setq options (plist-put options :trustedWorkspace
                               (if (tapps-lsp--trusted-p) t :json-false))))
    (append tapps-lsp-command (list :initializationOptions options))))

(add-to-list 'eglot-server-programs
             '((python-mode python-ts-mode) . tapps-lsp--contact))

(defun tapps-lsp--project-find (dir)
  "A (tapps-lsp . ROOT) project for DIR: the nearest folder with a marker."
  (when tapps-lsp-project-markers
    (let ((root (locate-dominating-file
                 dir (lambda (d)
                       (cl-some (lambda (m) (file-exists-p (expand-file-name m d)))
                                tapps-lsp-project-markers)))))
      (when root (cons 'tapps-lsp (expand-file-name root))))))

(cl-defmethod project-root ((project (head tapps-lsp)))
  (cdr project))

;; After `project-try-vc', so a repository root wins.
(add-hook 'project-find-functions #'tapps-lsp--project-find 90)

;;; Commands

(defun tapps-lsp--show (title result)
  "Show RESULT, a parsed JSON object, pretty-printed in a buffer named TITLE."
  (with-current-buffer (get-buffer-create (format "*%s*" title))
    (let ((inhibit-read-only t))
      (erase-buffer)
      (if (stringp result)
          (insert result)
        (insert (jsonrpc--json-encode result))
        (json-pretty-print-buffer))
      (goto-char (point-min)))
    (special-mode)
    (display-buffer (current-buffer)))
  result)

(defcustom tapps-lsp-command-timeout 600
  "Seconds to wait for a command such as a workspace review."
  :type 'number)

(defun tapps-lsp-execute (command &optional arguments)
  "Run tapps-lsp's COMMAND with ARGUMENTS (a plist) and return its result.
This is `eglot-execute-command' with a longer timeout than jsonrpc's 10 s."
  (jsonrpc-request (or (eglot-current-server)
                       (user-error "No language server manages this buffer: M-x eglot"))
                   :workspace/executeCommand
                   (list :command command
                         :arguments (if arguments (vector arguments) []))
                   :timeout tapps-lsp-command-timeout))

(defun tapps-lsp--uri (file)
  "FILE as a file: URI (Eglot 1.16 made its function public)."
  (if (fboundp 'eglot-path-to-uri)
      (eglot-path-to-uri file)
    (eglot--path-to-uri file)))

(defun tapps-lsp-score-file ()
  "Show the current file's score and findings (tapps.scoreFile)."
  (interactive)
  (tapps-lsp--show "tapps score"
                   (tapps-lsp-execute "tapps.scoreFile"
                                      (list :uri (tapps-lsp--uri buffer-file-name)))))

(defun tapps-lsp-review-workspace ()
  "Review every Python file of the workspace (tapps.reviewWorkspace).
Findings of the files not open arrive as diagnostics; the summary is shown."
  (interactive)
  (tapps-lsp--show "tapps review" (tapps-lsp-execute "tapps.reviewWorkspace")))

(defun tapps-lsp-debug-information ()
  "Show the server's version, tools, settings and cache.
This is tapps.printDebugInformation."
  (interactive)
  (tapps-lsp--show "tapps debug" (tapps-lsp-execute "tapps.printDebugInformation")))

(provide 'tapps-lsp)
;;; tapps-lsp.el ends here
