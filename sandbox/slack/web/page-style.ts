/** The page's stylesheet, served at /_sandbox/web/page.css. Slack's look, standard CSS only. */
export const PAGE_CSS = String.raw`
*{box-sizing:border-box}
body{margin:0;font:15px/1.46668 -apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1d1c1d;display:flex;height:100vh;overflow:hidden}
button,select,textarea,input{font:inherit}
nav{width:240px;flex:none;background:#3f0e40;color:#fff;display:flex;flex-direction:column;overflow:auto}
.team{padding:14px 16px;border-bottom:1px solid #522653;font-weight:900;font-size:18px}
.me{padding:12px 16px;border-bottom:1px solid #522653;font-size:13px;color:#cfc3cf}
.me select{width:100%;margin-top:6px;padding:5px;border-radius:6px;border:0}
.me .role{display:inline-block;margin-top:6px;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:700;background:#1164a3;color:#fff}
.role.admin{background:#e01e5a}.role.responder{background:#2bac76}.role.viewer{background:#616061}
.section-title{padding:14px 16px 4px;font-size:13px;color:#cfc3cf}
.chan{display:block;margin:0 8px;padding:4px 10px;border-radius:6px;color:#cfc3cf;cursor:pointer;border:0;background:none;text-align:left;width:calc(100% - 16px)}
.chan:hover{background:#350d36}.chan.on{background:#1164a3;color:#fff}
.live{margin-top:auto;padding:10px 16px;font-size:12px;color:#cfc3cf}.live b{color:#2bac76}.live.off b{color:#e8912d}
main{flex:1;display:flex;flex-direction:column;min-width:0}
#thread{width:420px;flex:none;border-left:1px solid #ddd;display:none;flex-direction:column;min-width:0}
#thread.open{display:flex}
.pane-head{padding:12px 20px;border-bottom:1px solid #ddd;display:flex;align-items:baseline;gap:10px;min-height:49px}
.pane-head h2{margin:0;font-size:18px;font-weight:900}.pane-head .sub{color:#616061;font-size:13px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.pane-head .x{margin-left:auto;border:0;background:none;font-size:18px;cursor:pointer;color:#616061;border-radius:4px}.pane-head .x:hover{background:#f0f0f0}
.list{flex:1;overflow:auto;padding:8px 0}
.msg{display:flex;gap:8px;padding:8px 20px;position:relative}
.msg:hover{background:#f8f8f8}
.avatar{width:36px;height:36px;border-radius:6px;flex:none;color:#fff;font-weight:700;display:flex;align-items:center;justify-content:center;font-size:16px}
.body{flex:1;min-width:0;overflow-wrap:anywhere}
.who{font-weight:900}.app{font-size:10px;font-weight:700;background:#e8e8e8;color:#616061;padding:0 3px;border-radius:2px;margin-left:4px;vertical-align:2px}
.ts{color:#616061;font-size:12px;margin-left:6px}.edited{color:#616061;font-size:12px}
.eph{background:#f4f8fd}.eph .note{color:#616061;font-size:12px;margin-bottom:2px}
.tools{position:absolute;right:20px;top:-10px;display:none;background:#fff;border:1px solid #ddd;border-radius:6px;box-shadow:0 1px 3px rgba(0,0,0,.08)}
.msg:hover .tools,.tools:focus-within{display:flex}
.tools button{border:0;background:none;padding:4px 8px;cursor:pointer;font-size:13px;border-radius:4px}.tools button:hover{background:#f0f0f0}
.picker{position:absolute;right:20px;top:20px;z-index:5;background:#fff;border:1px solid #ddd;border-radius:8px;box-shadow:0 4px 12px rgba(0,0,0,.15);padding:6px;display:flex;gap:2px}
.picker button{border:0;background:none;font-size:20px;cursor:pointer;border-radius:4px;padding:2px 4px}.picker button:hover{background:#f0f0f0}
.hdr{font-size:18px;font-weight:900;margin:4px 0}
.section{display:flex;gap:12px;align-items:flex-start;margin:4px 0}.section>.main{flex:1;min-width:0}
.fields{display:grid;grid-template-columns:1fr 1fr;gap:8px 16px;margin-top:6px}
.ctx{color:#616061;font-size:13px;display:flex;flex-wrap:wrap;gap:6px;align-items:center;margin:4px 0}.ctx img{width:16px;height:16px;border-radius:3px}
.actions{display:flex;flex-wrap:wrap;gap:8px;margin:8px 0 4px}
.btn{padding:0 12px;height:28px;border:1px solid rgba(29,28,29,.3);border-radius:4px;background:#fff;cursor:pointer;font-size:13px;font-weight:700;color:#1d1c1d}
.btn:hover{background:#f8f8f8;box-shadow:0 1px 3px rgba(0,0,0,.08)}
.btn.primary{background:#007a5a;color:#fff;border-color:#007a5a}.btn.primary:hover{background:#148567}
.btn.danger{background:#e01e5a;color:#fff;border-color:#e01e5a}.btn.danger:hover{background:#e23067}
.btn[disabled]{opacity:.5;cursor:default}
select.sel{height:28px;border:1px solid rgba(29,28,29,.3);border-radius:4px;background:#fff;font-size:13px;padding:0 6px;max-width:220px}
hr{border:0;border-top:1px solid #ddd;margin:8px 0}
.img-block{margin:6px 0}.img-block img,.preview{max-width:360px;max-height:240px;border-radius:8px;border:1px solid #ddd;display:block}
.img-title{font-size:13px;color:#616061}
code{font-family:Monaco,Menlo,Consolas,monospace;font-size:12px;color:#e01e5a;background:#f6f6f6;border:1px solid #e0e0e0;border-radius:3px;padding:1px 3px}
pre{font-family:Monaco,Menlo,Consolas,monospace;font-size:12px;background:#f8f8f8;border:1px solid #e0e0e0;border-radius:4px;padding:8px;margin:4px 0;white-space:pre-wrap}
blockquote{margin:4px 0;padding-left:12px;border-left:4px solid #ddd}
a{color:#1264a3;text-decoration:none}a:hover{text-decoration:underline}
.mention{background:#e8f5fa;color:#1264a3;border-radius:3px;padding:0 2px;font-weight:500}
.mention.special{background:#fef6d8;color:#1d1c1d;font-weight:700}
.file{display:inline-flex;gap:10px;align-items:center;border:1px solid #ddd;border-radius:8px;padding:8px 12px;margin-top:6px;max-width:360px}
.file .kind{background:#1264a3;color:#fff;border-radius:4px;font-size:11px;font-weight:700;padding:6px 4px;min-width:40px;text-align:center}
.files{display:flex;flex-direction:column;gap:4px}
.att{border-left:4px solid #ddd;padding-left:10px;margin:6px 0}
.reactions{display:flex;flex-wrap:wrap;gap:4px;margin-top:4px}
.rx{border:1px solid transparent;background:#f0f0f0;border-radius:12px;padding:0 8px;height:24px;font-size:13px;cursor:pointer}
.rx.mine{background:#e8f5fa;border-color:#1d9bd1;color:#1264a3}
.replies{color:#1264a3;font-weight:700;font-size:13px;cursor:pointer;border:0;background:none;padding:2px 0;margin-top:2px}.replies:hover{text-decoration:underline}
.divider-count{display:flex;align-items:center;gap:8px;color:#616061;font-size:13px;padding:4px 20px}.divider-count::after{content:"";flex:1;border-top:1px solid #ddd}
.composer{margin:0 20px 8px;border:1px solid #bbb;border-radius:8px;display:flex;align-items:flex-end;padding:6px}
.composer:focus-within{border-color:#1264a3;box-shadow:0 0 0 1px #1264a3}
.composer textarea{flex:1;border:0;resize:none;outline:none;padding:4px 6px;height:44px}
.composer button{background:#007a5a;color:#fff;border:0;border-radius:4px;padding:4px 12px;cursor:pointer;font-weight:700}
.status{padding:0 20px 8px;color:#616061;font-size:12px;min-height:20px}.status.err{color:#e01e5a}
.empty{color:#616061;padding:20px}
.modal-bg{position:fixed;inset:0;background:rgba(0,0,0,.5);display:flex;align-items:center;justify-content:center;z-index:10}
.modal{background:#fff;border-radius:8px;width:460px;max-width:90vw;box-shadow:0 18px 48px rgba(0,0,0,.35)}
.modal h3{margin:0;padding:20px 24px 8px;font-size:20px;font-weight:900}.modal .text{padding:0 24px 20px}
.modal .row{display:flex;justify-content:flex-end;gap:8px;padding:16px 24px;border-top:1px solid #ddd}
.modal .btn{height:36px;padding:0 16px;font-size:15px}
`;
