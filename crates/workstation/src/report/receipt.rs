//! What the citizen takes home: the receipt of a case opened at the service
//! window (受理回执: the case id, the `case.open` transaction and its block,
//! the documents' hashes, and a QR code carrying the chain, case id and
//! transaction id so that any department can look the case up), and a
//! certificate issued to them (its id, commitment and salt, and a QR code
//! the verifying centre scans).

use crate::dto::{CaseAction, CaseDetail, CertificateView};
use crate::error::WsError;
use crate::signing::certificate_link;

use super::layout::{Layout, Style};

/// The QR code's text: `govchain:case?chain=<chain>&id=<case>&tx=<tx id>`.
pub fn receipt_link(chain: &str, case_id: &str, tx_id: &str) -> String {
    format!("govchain:case?chain={chain}&id={case_id}&tx={tx_id}")
}

/// A QR code of `text` (error correction M): its width in modules and
/// which modules are dark, row by row.
pub fn qr_modules(text: &str) -> Result<(usize, Vec<bool>), WsError> {
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| WsError::BadRequest(format!("QR code: {e}")))?;
    let dark = code
        .to_colors()
        .into_iter()
        .map(|c| c == qrcode::Color::Dark)
        .collect();
    Ok((code.width(), dark))
}

/// The receipt PDF of case `c` on chain `chain`, once its `case.open` is in
/// a verified block (the receipt names that block).
pub fn case_receipt(c: &CaseDetail, chain: &str, generated_at: &str) -> Result<Vec<u8>, WsError> {
    let open = c
        .timeline
        .iter()
        .find(|e| e.action == CaseAction::Open)
        .ok_or_else(|| WsError::NotFound(format!("the opening of case {}", c.case_id)))?;
    let mut l = Layout::new(format!("govchain · receipt {} · {generated_at}", c.case_id));
    l.para("受理回执 Case receipt", Style::Title, 0.0);
    l.y -= 6.0;
    l.facts(&[
        ("案件编号 Case id", c.case_id.clone()),
        ("案件标题 Title", c.title.clone()),
        (
            "办理事项 Matter",
            format!("{} ({} v{})", c.template_name, c.template_id, c.version),
        ),
        ("辖区 Scope", c.scope.clone()),
        (
            "受理 Accepted by",
            format!("{} · {}", open.official.name, open.official.department_name),
        ),
        ("受理时间 Accepted at", open.time.clone()),
        ("链 Chain", chain.to_owned()),
        ("交易 Transaction", open.tx_id.clone()),
        ("区块 Block", open.height.to_string()),
    ]);
    for d in &c.documents {
        l.facts(&[("材料 SHA-256 Document", d.clone())]);
    }
    l.y -= 10.0;
    let link = receipt_link(chain, &c.case_id, &open.tx_id);
    let (width, dark) = qr_modules(&link)?;
    l.modules(width, &dark, 150.0);
    l.y -= 4.0;
    l.para(&link, Style::Mono, 0.0);
    l.y -= 6.0;
    l.para(
        "凭案件编号查询办理进度。申请材料原件由受理部门保存，链上只记录其 SHA-256；您的证件号码不上链。\
         Keep this receipt: the case id and transaction id let any department find this case on the \
         ledger and check that it was opened as shown. Only the documents' SHA-256 is on the ledger, \
         never your ID number.",
        Style::Small,
        0.0,
    );
    Ok(l.finish(&format!("受理回执 {}", c.case_id)))
}

/// The citizen's copy of certificate `c` issued here, with its `salt` and
/// the SHA-256 of the certified `document`: what another centre needs,
/// with the document itself and the citizen's consent, to verify it.
pub fn certificate_pdf(
    c: &CertificateView,
    chain: &str,
    salt: &str,
    document: &str,
    generated_at: &str,
) -> Result<Vec<u8>, WsError> {
    let mut l = Layout::new(format!("govchain · certificate {} · {generated_at}", c.id));
    l.para("证明 Certificate", Style::Title, 0.0);
    l.y -= 6.0;
    l.facts(&[
        ("证明编号 Certificate id", c.id.clone()),
        ("类型 Type", c.cert_type.clone()),
        (
            "出具 Issued by",
            format!("{} · {}", c.issuer.name, c.department_name),
        ),
        ("区块 Block", c.issued_at.to_string()),
        (
            "有效期至 Expires",
            c.expires_at.clone().unwrap_or_else(|| "—".into()),
        ),
        ("链 Chain", chain.to_owned()),
        ("持有人密钥 Holder key", c.holder_fingerprint.clone()),
        ("承诺值 Commitment", c.commitment.clone()),
        ("盐值 Salt", salt.to_owned()),
        ("证明文件 SHA-256 Document", document.to_owned()),
    ]);
    l.y -= 10.0;
    let link = certificate_link(chain, &c.id, salt);
    let (width, dark) = qr_modules(&link)?;
    l.modules(width, &dark, 170.0);
    l.y -= 4.0;
    l.para(&link, Style::Mono, 0.0);
    l.y -= 6.0;
    l.para(
        "链上只有承诺值 SHA-256(盐值 ‖ 证明文件)，证明文件本身和您的证件号码都不上链。异地中心核验时，请出示本页和证明文件，\
         并用您的密钥签署授权（govchain-citizen）；授权可随时撤销。\
         Only the commitment SHA-256(salt ‖ document) is on the ledger, never the document or your ID \
         number. To have another centre verify it, show this page and the document, and consent with \
         your own key (govchain-citizen); you can revoke the consent at any time.",
        Style::Small,
        0.0,
    );
    Ok(l.finish(&format!("证明 {}", c.id)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// The modules decode back to the text (rqrr, an independent decoder),
    /// drawn at 4 pixels a module with the quiet zone the PDF leaves.
    #[test]
    fn the_qr_code_decodes_to_the_link() {
        let link = receipt_link("gov-demo", "C-20261202-0A1B2C3D", &"ab".repeat(32));
        let (w, dark) = qr_modules(&link).unwrap();
        let (scale, quiet) = (4, 4);
        let side = (w + 2 * quiet) * scale;
        let mut img = rqrr::PreparedImage::prepare_from_greyscale(side, side, |x, y| {
            let (col, row) = (
                (x / scale).wrapping_sub(quiet),
                (y / scale).wrapping_sub(quiet),
            );
            if col < w && row < w && dark[row * w + col] {
                0
            } else {
                255
            }
        });
        let grids = img.detect_grids();
        assert_eq!(grids.len(), 1);
        let (_, text) = grids[0].decode().unwrap();
        assert_eq!(text, link);
    }
}
