#!/usr/bin/python3
"""Drive the real sekisho-gtk under Xvfb through AT-SPI, and photograph it.

The harness puts itself inside dbus-run-session (the session bus carries the
accessibility bus) with an XDG_RUNTIME_DIR of its own: at-spi-bus-launcher
places its socket there (else in ~/.cache/at-spi/bus, which parallel runs
would share and fight over).  It starts its own Xvfb (the display number chosen by Xvfb itself,
so parallel runs never collide) and a private *system* bus built from the
stock system.conf default policy (TESTING.md), then the app with
DBUS_SYSTEM_BUS_ADDRESS pointing at it, in Japanese.

Scenarios:
  unreachable  no sekishod on the bus: the app shows the "service cannot be
               reached" window, in Japanese, with its reason code, a retry
               that really retries and a close that really quits; every
               control has an accessible name; the app writes no file of its
               own (HOME, XDG dirs stay empty).
  no-bus       DBUS_SYSTEM_BUS_ADDRESS names a socket nobody listens on: the
               same window, naming the unreachable bus; photographed.
  no-role      the real sekishod answers on the bus (a fresh station, the
               project's bus policy), but the caller (root, in none of the
               sekisho-* groups) holds no role: the app says so in Japanese,
               with whom to ask; photographed.
  keyboard     the same window, worked with keys only: Ctrl+Shift+R retries,
               Ctrl+Q quits.
  hidpi        GDK_SCALE=2 on a 2560x1600 screen: the window is drawn at twice
               the size (text and controls scale, nothing is cut off);
               photographed.
  dark         the desktop prefers the dark style (org.gnome.desktop.interface
               color-scheme, read through a keyfile GSettings backend): the
               window is dark; photographed.

/usr/bin/python3 on purpose: Debian's pyatspi is not visible to other
interpreters (TESTING.md).
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

# G_DEBUG (fatal-criticals in the test setup) is for the app, not for this
# script's own GLib: a critical inside pyatspi would abort the harness before
# it could stop its X server and buses.  Taken out before GLib starts, given
# back to the app.
APP_G_DEBUG = os.environ.pop("G_DEBUG", None)

import gi  # noqa: E402

gi.require_version("Atspi", "2.0")
from gi.repository import Atspi, Gio, GLib  # noqa: E402

BUS_CONF = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Introspectable"/>
  </policy>
  {include}
</busconfig>
"""

# Roles that are controls: each must carry an accessible name.
CONTROL_ROLES = {
    Atspi.Role.PUSH_BUTTON,
    Atspi.Role.TOGGLE_BUTTON,
    Atspi.Role.CHECK_BOX,
    Atspi.Role.RADIO_BUTTON,
    Atspi.Role.ENTRY,
    Atspi.Role.PASSWORD_TEXT,
    Atspi.Role.COMBO_BOX,
    Atspi.Role.TREE_TABLE,
    Atspi.Role.TABLE,
    Atspi.Role.PROGRESS_BAR,
    Atspi.Role.SPIN_BUTTON,
    Atspi.Role.MENU_ITEM,
}


class Failure(Exception):
    pass


def log(msg):
    print(msg, flush=True)


def check(cond, msg):
    if not cond:
        raise Failure(msg)
    log("ok - " + msg)


def start_xvfb(size="1280x800"):
    r, w = os.pipe()
    proc = subprocess.Popen(
        # -noreset: between two clients (one gtk-builder-tool after
        # another) the server would otherwise reset and refuse the next.
        ["Xvfb", "-displayfd", str(w), "-screen", "0", size + "x24", "-nolisten", "tcp",
         "-noreset"],
        pass_fds=(w,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(w)
    with os.fdopen(r) as f:
        number = f.readline().strip()
    if not number:
        proc.kill()
        raise Failure("Xvfb did not start")
    return proc, ":" + number


def start_system_bus(tmp, policy_file):
    socket = os.path.join(tmp, "system_bus_socket")
    conf = os.path.join(tmp, "bus.conf")
    include = "<include>%s</include>" % os.path.abspath(policy_file) if policy_file else ""
    with open(conf, "w") as f:
        f.write(BUS_CONF.format(socket=socket, include=include))
    proc = subprocess.Popen(["dbus-daemon", "--config-file=" + conf, "--nofork", "--print-address=1"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    address = proc.stdout.readline().strip()
    if not address:
        proc.kill()
        raise Failure("the private system bus did not start")
    return proc, address


def walk(node, depth=0):
    if node is None or depth > 60:
        return
    yield node
    for i in range(node.get_child_count()):
        child = node.get_child_at_index(i)
        yield from walk(child, depth + 1)


def find_app(name, timeout=20.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        desktop = Atspi.get_desktop(0)
        for i in range(desktop.get_child_count()):
            app = desktop.get_child_at_index(i)
            if app is not None and app.get_name() == name and app.get_child_count() > 0:
                return app
        time.sleep(0.1)
    raise Failure("no accessible application named %s appeared" % name)


def find(root, role, name=None, contains=None, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for node in walk(root):
            try:
                if node.get_role() != role:
                    continue
                text = node.get_name() or ""
                if role == Atspi.Role.LABEL and contains is not None:
                    text = node.get_text(0, -1) if node.get_text_iface() else text
                if name is not None and text != name:
                    continue
                if contains is not None and contains not in text:
                    continue
                return node
            except gi.repository.GLib.Error:
                continue
        time.sleep(0.1)
    raise Failure("no %s named %r (containing %r)" % (role.value_nick, name, contains))


def texts(root):
    out = []
    for node in walk(root):
        try:
            if node.get_role() == Atspi.Role.LABEL:
                out.append(node.get_name() or "")
        except gi.repository.GLib.Error:
            pass
    return out


def unnamed_controls(root):
    bad = []
    for node in walk(root):
        try:
            if node.get_role() in CONTROL_ROLES and node.get_state_set().contains(Atspi.StateType.SHOWING):
                if not (node.get_name() or "").strip():
                    bad.append(node.get_role_name())
        except gi.repository.GLib.Error:
            pass
    return bad


def press(button):
    action = button.get_action_iface()
    if action is None:
        raise Failure("%s cannot be pressed" % button.get_name())
    action.do_action(0)


def screenshot(display, out_dir, name, pid):
    path = os.path.join(out_dir, name + ".png")
    env = dict(os.environ, DISPLAY=display)
    end = time.monotonic() + 10
    windows = []
    while time.monotonic() < end and not windows:
        r = subprocess.run(["xdotool", "search", "--onlyvisible", "--pid", str(pid)],
                           env=env, capture_output=True, text=True)
        windows = r.stdout.split()
        if not windows:
            time.sleep(0.1)
    if not windows:
        raise Failure("no visible window of the app to photograph")
    time.sleep(0.3)  # let the last frame paint
    subprocess.run(["import", "-window", windows[-1], path], env=env, check=True)
    log("ok - screenshot %s" % path)
    return path


def mean_luminance(path):
    r = subprocess.run(["convert", path, "-colorspace", "Gray", "-format", "%[fx:mean]", "info:"],
                       capture_output=True, text=True, check=True)
    return float(r.stdout.strip())


def keys(ctx, *combos):
    env = dict(os.environ, DISPLAY=ctx.display)
    for combo in combos:
        win = subprocess.run(["xdotool", "search", "--onlyvisible", "--pid", str(ctx.app.pid)],
                             env=env, capture_output=True, text=True).stdout.split()
        if not win:
            raise Failure("no window to type into")
        subprocess.run(["xdotool", "windowfocus", "--sync", win[-1]], env=env, check=True)
        subprocess.run(["xdotool", "key", "--clearmodifiers", combo], env=env, check=True)


def files_under(root):
    found = []
    for dirpath, _dirs, files in os.walk(root):
        for f in files:
            found.append(os.path.relpath(os.path.join(dirpath, f), root))
    return found


def scenario_unreachable(ctx):
    app = find_app("sekisho-gtk")
    frame = find(app, Atspi.Role.FRAME)
    headline = find(frame, Atspi.Role.LABEL, name="Sekisho サービスに接続できません")
    check(headline is not None, "the window says, in Japanese, that the service cannot be reached")
    labels = texts(frame)
    check(any("service-unreachable" in t for t in labels), "the reason code service-unreachable is shown")
    check(any("情報システム管理者" in t for t in labels), "the window says whom to tell")
    check(any("再起動" in t for t in labels), "the window says what to do (restart the terminal)")
    bad = unnamed_controls(frame)
    check(not bad, "every control has an accessible name (unnamed: %s)" % bad)
    shot = screenshot(ctx.display, ctx.out, "unreachable", ctx.app.pid)
    lum = mean_luminance(shot)
    check(lum > 0.6, "without a dark preference the window is light (mean luminance %.2f)" % lum)

    retry = find(frame, Atspi.Role.PUSH_BUTTON, name="再試行(T)")
    press(retry)
    # A retry closes the window and asks the bus again: a new frame appears.
    end = time.monotonic() + 10
    again = None
    while time.monotonic() < end:
        try:
            app = find_app("sekisho-gtk", timeout=2)
            f = find(app, Atspi.Role.FRAME, timeout=2)
            if f is not None and f != frame:
                again = f
                break
        except Failure:
            pass
        time.sleep(0.1)
    check(again is not None, "Try Again asks the service again and shows the answer")
    find(again, Atspi.Role.LABEL, name="Sekisho サービスに接続できません")

    close = find(again, Atspi.Role.PUSH_BUTTON, name="閉じる(C)")
    press(close)
    try:
        rc = ctx.app.wait(timeout=10)
    except subprocess.TimeoutExpired:
        raise Failure("Close did not end the app")
    check(rc == 0, "Close ends the app with status 0")
    leftovers = files_under(ctx.home)
    check(not leftovers, "the app wrote no file of its own (found: %s)" % leftovers)


def validate_ui(files):
    xvfb, display = start_xvfb()
    failed = 0
    try:
        env = dict(os.environ, DISPLAY=display)
        for f in files:
            r = subprocess.run(["gtk-builder-tool", "validate", f], env=env,
                               capture_output=True, text=True)
            if r.returncode == 0 and not r.stderr.strip():
                log("ok - %s is valid" % os.path.basename(f))
            else:
                failed += 1
                log("not ok - %s: %s" % (os.path.basename(f), (r.stdout + r.stderr).strip()))
    finally:
        xvfb.terminate()
        xvfb.wait()
    return 1 if failed else 0


def scenario_no_bus(ctx):
    app = find_app("sekisho-gtk")
    frame = find(app, Atspi.Role.FRAME)
    find(frame, Atspi.Role.LABEL, name="Sekisho サービスに接続できません")
    labels = texts(frame)
    check(any("service-unreachable" in t for t in labels),
          "with no system bus at all the window says service-unreachable")
    # GIO's own words for the failed connection follow the code (in
    # Japanese where GLib's catalogue is installed).
    detail = [t.split("service-unreachable — ", 1)[1] for t in labels
              if "service-unreachable — " in t]
    check(detail and detail[0].strip() and "ServiceUnknown" not in detail[0],
          "the reason line says why the bus could not be reached (%r)" % (detail[:1],))
    screenshot(ctx.display, ctx.out, "no-bus", ctx.app.pid)


def start_sekishod(ctx, tmp, address, sekishod, cli):
    """A fresh station and the real sekishod serving it on the private bus."""
    station = os.path.join(tmp, "station")
    handoff = os.path.join(tmp, "handoff")
    os.makedirs(handoff, mode=0o755)
    # Fingerprints only: the keys are not needed to answer who the caller is.
    subprocess.run([cli, "--station", station, "station", "init",
                    "--admin-key", "0123456789ABCDEF0123456789ABCDEF01234567",
                    "--signing-key", "89ABCDEF0123456789ABCDEF0123456789ABCDEF"],
                   check=True, stdout=subprocess.DEVNULL)
    env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=address)
    proc = subprocess.Popen([sekishod, "--station", station, "--handoff-root", handoff], env=env)
    bus = Gio.DBusConnection.new_for_address_sync(
        address, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
        | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
    end = time.monotonic() + 20
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise Failure("sekishod ended at start (status %d)" % proc.returncode)
        has = bus.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                            "NameHasOwner", GLib.Variant("(s)", ("jp.sekisho.Station1",)),
                            GLib.VariantType("(b)"), Gio.DBusCallFlags.NONE, -1, None)
        if has.unpack()[0]:
            return proc
        time.sleep(0.1)
    raise Failure("sekishod did not take its bus name")


def scenario_no_role(ctx):
    app = find_app("sekisho-gtk")
    frame = find(app, Atspi.Role.FRAME)
    headline = find(frame, Atspi.Role.LABEL, name="このステーションでの役割がありません")
    check(headline is not None, "the real sekishod answered; a caller in no role group is told so")
    labels = texts(frame)
    check(any("role-denied" in t for t in labels), "the reason code role-denied is shown")
    check(any("sekisho-operator" in t and "情報システム管理者" in t for t in labels),
          "the window says whom to ask and for which groups")
    check(not any("接続できません" in t for t in labels), "the service is not called unreachable")
    bad = unnamed_controls(frame)
    check(not bad, "every control has an accessible name (unnamed: %s)" % bad)
    screenshot(ctx.display, ctx.out, "no-role", ctx.app.pid)


def scenario_keyboard(ctx):
    app = find_app("sekisho-gtk")
    frame = find(app, Atspi.Role.FRAME)
    find(frame, Atspi.Role.LABEL, name="Sekisho サービスに接続できません")
    keys(ctx, "ctrl+shift+r")
    end = time.monotonic() + 10
    again = None
    while time.monotonic() < end and again is None:
        try:
            f = find(find_app("sekisho-gtk", timeout=2), Atspi.Role.FRAME, timeout=2)
            if f != frame:
                again = f
        except Failure:
            pass
        time.sleep(0.1)
    check(again is not None, "Ctrl+Shift+R asks the service again")
    keys(ctx, "ctrl+q")
    try:
        rc = ctx.app.wait(timeout=10)
    except subprocess.TimeoutExpired:
        raise Failure("Ctrl+Q did not end the app")
    check(rc == 0, "Ctrl+Q ends the app with status 0")


def scenario_dark(ctx):
    app = find_app("sekisho-gtk")
    frame = find(app, Atspi.Role.FRAME)
    find(frame, Atspi.Role.LABEL, name="Sekisho サービスに接続できません")
    shot = screenshot(ctx.display, ctx.out, "unreachable-dark", ctx.app.pid)
    lum = mean_luminance(shot)
    check(lum < 0.4, "the window follows the dark style (mean luminance %.2f)" % lum)


def image_size(path):
    r = subprocess.run(["identify", "-format", "%w %h", path], capture_output=True, text=True,
                       check=True)
    w, h = r.stdout.split()
    return int(w), int(h)


def scenario_hidpi(ctx):
    app = find_app("sekisho-gtk")
    frame = find(app, Atspi.Role.FRAME)
    find(frame, Atspi.Role.LABEL, name="Sekisho サービスに接続できません")
    shot = screenshot(ctx.display, ctx.out, "unreachable-hidpi", ctx.app.pid)
    w, h = image_size(shot)
    # At scale 1 the window is 730 pixels wide.
    check(w >= 1400, "at GDK_SCALE=2 the window is drawn at twice the size (%dx%d)" % (w, h))
    bad = unnamed_controls(frame)
    check(not bad, "every control has an accessible name at scale 2 (unnamed: %s)" % bad)


def setup_dark(env, home):
    """A keyfile GSettings backend saying the desktop prefers dark."""
    config = os.path.join(home, ".config")
    os.makedirs(os.path.join(config, "glib-2.0", "settings"))
    with open(os.path.join(config, "glib-2.0", "settings", "keyfile"), "w") as f:
        f.write("[org/gnome/desktop/interface]\ncolor-scheme='prefer-dark'\n")
    env["GSETTINGS_BACKEND"] = "keyfile"
    env["XDG_CONFIG_HOME"] = config


SCENARIOS = {
    "unreachable": scenario_unreachable,
    "keyboard": scenario_keyboard,
    "dark": scenario_dark,
    "hidpi": scenario_hidpi,
    "no-bus": scenario_no_bus,
    "no-role": scenario_no_role,
}


class Ctx:
    pass


def in_own_session():
    """Run this script again inside dbus-run-session with its own runtime dir."""
    runtime = tempfile.mkdtemp(prefix="sk-gui-run-")
    try:
        env = dict(os.environ, XDG_RUNTIME_DIR=runtime, SK_GUI_IN_SESSION="1")
        r = subprocess.run(["dbus-run-session", "--", sys.executable, os.path.abspath(__file__)]
                           + sys.argv[1:], env=env)
        return r.returncode
    finally:
        shutil.rmtree(runtime, ignore_errors=True)


def main():
    if not os.environ.get("SK_GUI_IN_SESSION") and "--validate-ui" not in sys.argv:
        return in_own_session()
    p = argparse.ArgumentParser()
    p.add_argument("--validate-ui", nargs="+", metavar="UI",
                   help="only run gtk-builder-tool validate on each file (GTK 3's needs a display)")
    p.add_argument("--app")
    p.add_argument("--localedir")
    p.add_argument("--out", help="folder for the screenshots")
    p.add_argument("--scenario", choices=sorted(SCENARIOS))
    p.add_argument("--bus-policy", help="the project's bus policy file to include")
    p.add_argument("--sekishod", help="the service, for scenarios that need it")
    p.add_argument("--cli", help="the command line, to make a station")
    args = p.parse_args()
    if args.validate_ui:
        return validate_ui(args.validate_ui)
    if not (args.app and args.localedir and args.out and args.scenario):
        p.error("--app, --localedir, --out and --scenario are needed")

    os.makedirs(args.out, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="sk-gui-")
    procs = []
    ctx = Ctx()
    ctx.out = args.out
    try:
        xvfb, ctx.display = start_xvfb("2560x1600" if args.scenario == "hidpi" else "1280x800")
        procs.append(xvfb)
        bus, address = start_system_bus(tmp, args.bus_policy)
        procs.append(bus)
        if args.scenario == "no-role":
            if not (args.sekishod and args.cli and args.bus_policy):
                raise Failure("no-role needs --sekishod, --cli and --bus-policy")
            procs.append(start_sekishod(ctx, tmp, address, args.sekishod, args.cli))
        ctx.home = os.path.join(tmp, "home")
        os.makedirs(ctx.home)
        env = dict(os.environ)
        for k in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
            env.pop(k, None)
        env.update({
            "DISPLAY": ctx.display,
            "DBUS_SYSTEM_BUS_ADDRESS": address,
            "HOME": ctx.home,
            "LANG": "ja_JP.UTF-8",
            "LC_ALL": "ja_JP.UTF-8",
            "LANGUAGE": "ja",
            "TZ": "Asia/Tokyo",
            "SEKISHO_LOCALEDIR": args.localedir,
            "GSETTINGS_BACKEND": "memory",
        })
        if APP_G_DEBUG is not None:
            env["G_DEBUG"] = APP_G_DEBUG
        for k in ("NO_AT_BRIDGE", "GTK_THEME"):
            env.pop(k, None)
        if args.scenario == "dark":
            setup_dark(env, ctx.home)
        if args.scenario == "hidpi":
            env["GDK_SCALE"] = "2"
        ctx.dead_socket = os.path.join(tmp, "no-bus-here")
        if args.scenario == "no-bus":
            env["DBUS_SYSTEM_BUS_ADDRESS"] = "unix:path=" + ctx.dead_socket
        start = time.monotonic()
        ctx.app = subprocess.Popen([args.app], env=env)
        procs.append(ctx.app)
        SCENARIOS[args.scenario](ctx)
        log("ok - scenario %s in %.1f s" % (args.scenario, time.monotonic() - start))
        return 0
    except Failure as e:
        log("not ok - %s" % e)
        return 1
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
