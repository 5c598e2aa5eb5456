//! The harness's peer services work in the lab, so a failing scenario points at elb-ha, not at
//! its test rig.

use std::time::Duration;

use elb_ha_e2e::services::{MailSink, SYSTEM_PYTHON, start_backend};
use netlab::{Lab, require_root_or_skip};

const T: Duration = Duration::from_secs(10);

#[test]
fn backend_serves_its_name_and_mail_sink_receives_mail() {
    if !require_root_or_skip("backend_serves_its_name_and_mail_sink_receives_mail") {
        return;
    }
    let lab = Lab::new(2).unwrap();
    let (server, client) = (lab.host(0), lab.host(1));
    let _backend = start_backend(server, lab.dir(), "b1", 8081).unwrap();
    let url = format!("http://{}:8081/", server.ipv4());
    let page = client.run(&["curl", "-sf", &url]).unwrap();
    assert_eq!(String::from_utf8_lossy(&page.stdout), "served by b1\n");

    let sink = MailSink::start(server, 2525).unwrap();
    let script = format!(
        "import smtplib\nfrom email.message import EmailMessage\nm=EmailMessage()\n\
         m['From']='a@example.com'\nm['To']='b@example.com'\nm['Subject']='probe 42'\n\
         m.set_content('x')\ns=smtplib.SMTP('{}',2525,timeout=5)\ns.send_message(m)\ns.quit()\n",
        server.ipv4()
    );
    client.run(&[SYSTEM_PYTHON, "-c", &script]).unwrap();
    sink.wait_for_subject("probe 42", 1, T).unwrap();
}
