;;; eglot_e2e.el --- headless Eglot test of editors/emacs/tapps-lsp.el  -*- lexical-binding: t -*-
;;
;; Run by tests/editors/test_emacs_vim.py:
;;
;;   TAPPS_E2E_CONFIG=editors/emacs/tapps-lsp.el TAPPS_E2E_PYTHON=/venv/bin/python \
;;   TAPPS_E2E_ROOT=/tmp/copy-of-basic TAPPS_E2E_OUT=result.json \
;;     timeout 60 emacs --batch -Q -l tests/editors/eglot_e2e.el
;;
;; Writes {"checks": [{"name", "ok"}...], "steps": [...], "total_ms"} to TAPPS_E2E_OUT.
;; Exit code: 0 all checks passed, 1 a check failed, 2 a Lisp error.

(require 'package)
;; -Q drops site-lisp: point package.el at Debian's elpa-* packages.
(add-to-list 'package-directory-list "/usr/share/emacs/site-lisp/elpa")
(package-initialize)
(require 'eglot)
(require 'json)
(require 'cl-lib)

(defvar e2e-t0 (float-time))
(defun e2e-ms () (round (* 1000 (- (float-time) e2e-t0))))
(defvar e2e-out (getenv "TAPPS_E2E_OUT"))
(defvar e2e-root (file-name-as-directory (getenv "TAPPS_E2E_ROOT")))
(defvar e2e-wait-s (string-to-number (or (getenv "TAPPS_E2E_WAIT_S") "20")))
(defvar e2e-steps nil)
(defvar e2e-checks nil)
(defun e2e-step (name &optional data)
  (push (list :t_ms (e2e-ms) :name name :data data) e2e-steps))
(defun e2e-check (name ok &optional detail)
  (push (list :name name :ok (if ok t :json-false) :t_ms (e2e-ms) :detail detail) e2e-checks)
  ok)

;; Our configuration, with the server started as `python -m tapps_lsp.server` (an editor
;; started by CI need not have the virtual environment on PATH).
(load (getenv "TAPPS_E2E_CONFIG") nil t)
(setq tapps-lsp-command (list (getenv "TAPPS_E2E_PYTHON") "-m" "tapps_lsp.server")
      eglot-sync-connect 30
      eglot-autoreconnect nil
      ;; settings both ways the README shows, each one observable: the typeerr.py
      ;; score (91) becomes a warning, ruff's F401 an error
      tapps-lsp-initialization-options '(:scoreThreshold 95))
(setq-default eglot-workspace-configuration '(:tapps (:severity (:F401 "error"))))

(defvar e2e-publishes (make-hash-table :test #'equal)
  "URI -> number of publishDiagnostics received.")
(cl-defmethod eglot-handle-notification :after
  (_s (_m (eql textDocument/publishDiagnostics)) &key uri &allow-other-keys)
  (puthash uri (1+ (gethash uri e2e-publishes 0)) e2e-publishes))

(defvar e2e-messages nil "window/showMessage texts: tool problems would show here.")
(cl-defmethod eglot-handle-notification :after
  (_s (_m (eql window/showMessage)) &key message &allow-other-keys)
  (push message e2e-messages))

(defun e2e-wait (pred &optional secs)
  "Pump the event loop until PRED is non-nil or SECS pass."
  (let ((deadline (+ (float-time) (or secs e2e-wait-s))))
    (while (and (not (funcall pred)) (< (float-time) deadline))
      ;; flymake's own timers are idle timers, which never fire in --batch
      (dolist (buf (buffer-list))
        (with-current-buffer buf
          (when (bound-and-true-p flymake-mode) (flymake-start))))
      (accept-process-output nil 0.02))
    (funcall pred)))

(defun e2e-diag-spec (d)
  (alist-get 'eglot-lsp-diag (flymake-diagnostic-data d)))

(defun e2e-diags (buf)
  "What flymake shows in BUF: line, type, source, code, text."
  (with-current-buffer buf
    (cl-map 'vector
            (lambda (d)
              (let ((spec (e2e-diag-spec d)))
                (list :line (line-number-at-pos (flymake-diagnostic-beg d))
                      :type (format "%s" (flymake-diagnostic-type d))
                      :source (plist-get spec :source)
                      :code (plist-get spec :code)
                      :text (flymake-diagnostic-text d))))
            (flymake-diagnostics))))

(defun e2e-has (buf source &optional code)
  "Non-nil when flymake shows BUF a diagnostic of SOURCE (and CODE)."
  (with-current-buffer buf
    (cl-some (lambda (d)
               (let ((spec (e2e-diag-spec d)))
                 (and (equal (plist-get spec :source) source)
                      (or (null code) (equal (plist-get spec :code) code)))))
             (flymake-diagnostics))))

(defun e2e-type (buf source type)
  "Non-nil when flymake shows BUF a diagnostic of SOURCE, all of them of TYPE."
  (with-current-buffer buf
    (let ((of-source (cl-remove-if-not
                      (lambda (d) (equal (plist-get (e2e-diag-spec d) :source) source))
                      (flymake-diagnostics))))
      (and of-source (cl-every (lambda (d) (eq (flymake-diagnostic-type d) type)) of-source)))))

(defun e2e-uri (buf) (eglot--path-to-uri (buffer-file-name buf)))

(defun e2e-run ()
  (let* ((typeerr (find-file-noselect (concat e2e-root "app/typeerr.py")))
         (lint nil)
         (server nil))
    (with-current-buffer typeerr
      (e2e-check "python_mode" (derived-mode-p 'python-mode) (format "%s" major-mode))
      ;; What M-x eglot does, without its prompts: the contact comes from our
      ;; entry in `eglot-server-programs'.
      (setq server (apply #'eglot (eglot--guess-contact)))
      (e2e-check "attached" (and server (eglot-managed-p)))
      (e2e-check "workspace_root_is_project"
                 (equal (file-name-as-directory
                         (expand-file-name (project-root (eglot--project server))))
                        (expand-file-name e2e-root))
                 (project-root (eglot--project server)))
      (e2e-step "attached" (list :server_info (eglot--server-info server)
                                 :command tapps-lsp-command)))
    (e2e-check "typeerr_mypy_on_open"
               (e2e-wait (lambda () (and (e2e-has typeerr "mypy" "assignment")
                                         (e2e-has typeerr "tapps" "score")))))
    (e2e-check "typeerr_score_on_open" (e2e-has typeerr "tapps" "score"))
    (e2e-check "init_options_delivered" (e2e-type typeerr "tapps" 'eglot-warning))
    (e2e-step "typeerr_on_open" (e2e-diags typeerr))
    ;; A second file joins the running server (didOpen from Eglot's find-file hook).
    (setq lint (find-file-noselect (concat e2e-root "app/lint.py")))
    (e2e-check "lint_managed" (with-current-buffer lint (eglot-managed-p)))
    (e2e-check "lint_ruff_on_open"
               (e2e-wait (lambda () (and (e2e-has lint "ruff" "F401")
                                         (e2e-has lint "tapps" "score")))))
    (e2e-check "lint_score_on_open" (e2e-has lint "tapps" "score"))
    (e2e-check "workspace_configuration_delivered" (e2e-type lint "ruff" 'eglot-error))
    (e2e-step "lint_on_open" (e2e-diags lint))
    ;; Our command: tapps.scoreFile through workspace/executeCommand.
    (let ((result (with-current-buffer lint
                    (save-window-excursion (tapps-lsp-score-file)))))
      (e2e-check "score_file_command"
                 (and (listp result) (plist-get result :score)
                      (cl-some (lambda (f) (equal (plist-get f :code) "F401"))
                               (plist-get result :findings))))
      (e2e-step "score_file_command" (list :score (plist-get result :score))))
    ;; tapps.reviewWorkspace: every file of the project, a summary back.
    (let ((result (with-current-buffer lint
                    (save-window-excursion (tapps-lsp-review-workspace)))))
      (e2e-check "review_workspace_command"
                 (and (listp result) (numberp (plist-get result :files))
                      (>= (plist-get result :files) 5)))
      (e2e-step "review_workspace_command"
                (list :files (plist-get result :files) :findings (plist-get result :findings))))
    ;; Remove the unused import and save: didChange + didSave.
    (let ((before (gethash (e2e-uri lint) e2e-publishes 0)))
      (with-current-buffer lint
        (goto-char (point-min))
        (delete-region (point) (line-beginning-position 2))
        (save-buffer))
      (e2e-check "lint_ruff_gone_after_save"
                 ;; flymake drops a diagnostic whose text was deleted, so also
                 ;; insist on a fresh publish from the server
                 (e2e-wait (lambda ()
                             (and (> (gethash (e2e-uri lint) e2e-publishes 0) before)
                                  (not (e2e-has lint "ruff" "F401"))
                                  (e2e-has lint "tapps" "score")))))
      (e2e-check "lint_score_after_save" (e2e-has lint "tapps" "score"))
      ;; the server reviewed the saved text: a number, and nothing else
      (e2e-check "lint_clean_after_save"
                 (with-current-buffer lint
                   (let ((diags (flymake-diagnostics)))
                     (and (= (length diags) 1)
                          (string-match-p "\\`tapps \\[score\\]: Quality [0-9]+/100"
                                          (flymake-diagnostic-text (car diags)))))))
      (e2e-step "lint_after_save" (e2e-diags lint)))
    (e2e-step "show_message" (vconcat (reverse e2e-messages)))
    (e2e-step "publishes" (let (acc) (maphash (lambda (k v) (push (cons k v) acc)) e2e-publishes)
                            acc))
    (unless (cl-every (lambda (c) (eq (plist-get c :ok) t)) e2e-checks)
      ;; the end of Eglot's log of every message, to see what went wrong
      (with-current-buffer (jsonrpc-events-buffer server)
        (e2e-step "events_tail"
                  (buffer-substring-no-properties (max (point-min) (- (point-max) 6000))
                                                  (point-max)))))
    (let ((t-shutdown (float-time)))
      (ignore-errors (eglot-shutdown server))
      (e2e-step "shutdown" (list :ms (round (* 1000 (- (float-time) t-shutdown))))))
    (if (cl-every (lambda (c) (eq (plist-get c :ok) t)) e2e-checks) 0 1)))

(let ((code (condition-case err
                (e2e-run)
              (error (e2e-step "ERROR" (format "%S" err)) 2))))
  (with-temp-file e2e-out
    (insert (json-encode
             (list :editor (format "Emacs %s + Eglot %s" emacs-version
                                   (or (ignore-errors
                                         (package-version-join
                                          (package-desc-version
                                           (cadr (assq 'eglot package-alist)))))
                                       "?"))
                   :total_ms (e2e-ms)
                   :exit code
                   :checks (vconcat (reverse e2e-checks))
                   :steps (vconcat (reverse e2e-steps))))))
  (kill-emacs code))
