"""Why Meta refused a message, in the agent's language.

The sender stores our sentence (wasb.whatsapp.errors.human_message) followed by Meta's own
words; Meta's words stay as Meta wrote them, our sentence is translated when shown.
"""
from __future__ import annotations

import re
from typing import Callable

from wasb.whatsapp.errors import HUMAN_MESSAGES

IT_REASONS: dict[str, str] = {
    HUMAN_MESSAGES[0]: "WhatsApp non ha potuto autenticare l'account business; il token di accesso va rinnovato.",
    HUMAN_MESSAGES[1]: "WhatsApp ha risposto con un errore sconosciuto; riproverà.",
    HUMAN_MESSAGES[2]: "WhatsApp è momentaneamente fuori servizio o sovraccarico; riproverà.",
    HUMAN_MESSAGES[3]: "Al token di accesso manca una funzione o un permesso richiesto da WhatsApp; deve correggerlo un amministratore.",
    HUMAN_MESSAGES[4]: "L'app ha inviato troppe richieste a WhatsApp; riproverà a breve.",
    HUMAN_MESSAGES[10]: "Il token di accesso non ha il permesso per questa azione; controlla i permessi dell'app.",
    HUMAN_MESSAGES[100]: "WhatsApp ha rifiutato la richiesta perché un parametro manca o è errato.",
    HUMAN_MESSAGES[190]: "Il token di accesso WhatsApp è scaduto o non è valido; deve aggiornarlo un amministratore.",
    HUMAN_MESSAGES[368]: "L'account WhatsApp Business è temporaneamente bloccato per violazioni delle regole.",
    HUMAN_MESSAGES[80007]: "L'account WhatsApp Business ha raggiunto il limite di richieste; riproverà a breve.",
    HUMAN_MESSAGES[130429]: "Da questo numero si stanno inviando troppi messaggi in questo momento; riproverà a breve.",
    HUMAN_MESSAGES[131000]: "WhatsApp ha avuto un problema interno nell'invio di questo messaggio; riproverà.",
    HUMAN_MESSAGES[131005]: "Accesso negato; il token di accesso non ha il permesso di inviare messaggi.",
    HUMAN_MESSAGES[131008]: "Manca un parametro obbligatorio del messaggio.",
    HUMAN_MESSAGES[131009]: "Un valore del messaggio non è valido.",
    HUMAN_MESSAGES[131016]: "WhatsApp è temporaneamente non disponibile; riproverà.",
    HUMAN_MESSAGES[131021]: "Il destinatario è il numero business stesso; non gli si può inviare un messaggio.",
    HUMAN_MESSAGES[131026]: "Il messaggio non è stato consegnato: il numero potrebbe non essere su WhatsApp, "
                            "o il cliente potrebbe dover aggiornare l'app o accettare i nuovi termini.",
    HUMAN_MESSAGES[131031]: "L'account WhatsApp Business è bloccato; contatta l'assistenza Meta.",
    HUMAN_MESSAGES[131042]: "C'è un problema di pagamento con l'account WhatsApp Business.",
    HUMAN_MESSAGES[131045]: "Il numero business ha un problema di registrazione (certificato).",
    HUMAN_MESSAGES[131047]: "Sono passate più di 24 ore dall'ultimo messaggio del cliente; invia un template approvato.",
    HUMAN_MESSAGES[131048]: "WhatsApp ha limitato questo numero perché messaggi precedenti sono stati segnalati come spam.",
    HUMAN_MESSAGES[131049]: "WhatsApp non ha consegnato questo messaggio di marketing per tutelare l'interesse dei clienti; "
                            "riprova più tardi.",
    HUMAN_MESSAGES[131051]: "WhatsApp non supporta questo tipo di messaggio.",
    HUMAN_MESSAGES[131052]: "Il file inviato dal cliente non si è potuto scaricare.",
    HUMAN_MESSAGES[131053]: "WhatsApp non ha potuto caricare o scaricare l'allegato; "
                            "controlla il tipo di file, la dimensione e che il link sia raggiungibile.",
    HUMAN_MESSAGES[131056]: "Troppi messaggi inviati a questo cliente in poco tempo; riproverà a breve.",
    HUMAN_MESSAGES[132000]: "Il numero di valori non corrisponde ai segnaposto del template.",
    HUMAN_MESSAGES[132001]: "Questo template non esiste in questa lingua o non è approvato.",
    HUMAN_MESSAGES[132005]: "Il testo del template è troppo lungo una volta compilati i segnaposto.",
    HUMAN_MESSAGES[132007]: "Il contenuto del template viola le regole di WhatsApp.",
    HUMAN_MESSAGES[132012]: "Un valore del template ha il formato sbagliato (per esempio un'immagine di intestazione data come testo).",
    HUMAN_MESSAGES[132015]: "Il template è in pausa per bassa qualità.",
    HUMAN_MESSAGES[132016]: "Il template è disattivato per bassa qualità.",
    HUMAN_MESSAGES[133004]: "Il server di WhatsApp è temporaneamente non disponibile; riproverà.",
    HUMAN_MESSAGES[133010]: "Il numero business non è registrato su WhatsApp.",
    HUMAN_MESSAGES[135000]: "WhatsApp ha rifiutato il messaggio per un problema sconosciuto nei parametri.",
    "WhatsApp could not be reached; it will try again shortly.":
        "WhatsApp non è raggiungibile; riproverà a breve.",
    "not confirmed by WhatsApp; not re-sent to avoid a duplicate":
        "non confermato da WhatsApp; non reinviato per evitare un doppione",
    "WhatsApp is holding this message for a quality check of its template; it is not sent yet.":
        "WhatsApp trattiene questo messaggio per un controllo di qualità del template; non è ancora inviato.",
}

# Why an agent's comment waits (wasb.outbound.held): the template's name and parameters stay as they are.
_HELD = [
    (re.compile(r"^no fallback template is configured \(setting fallback_template\); the comment waits$"),
     "nessun template di riserva configurato (impostazione fallback_template); il commento attende"),
    (re.compile(r"^the fallback template already went out for an earlier comment$"),
     "il template di riserva è già partito per un commento precedente"),
    (re.compile(r"^the fallback template (?P<name>.+?) \((?P<lang>[^)]+)\) was not sent: no source is set for its "
                r"parameter\(s\) (?P<names>.+) \(an admin sets them on the template's page\); the comment waits for the customer$"),
     "il template di riserva {name} ({lang}) non è partito: nessuna fonte per i parametri {names} "
     "(la imposta un amministratore nella pagina del template); il commento attende il cliente"),
    (re.compile(r"^the fallback template (?P<name>.+?) \((?P<lang>[^)]+)\) could not be sent: (?P<why>.*)$", re.S),
     "il template di riserva {name} ({lang}) non si è potuto inviare: {why}"),
]

# Our framing around what Meta said: "… WhatsApp: “…” (code N)." and "WhatsApp refused the message (code N): …".
_META_SAYS = re.compile(r"^(?P<ours>.*?)(?P<sep> ?)WhatsApp: “(?P<meta>.*)” \(code (?P<code>\d+)\)\.$", re.S)
_REFUSED = re.compile(r"^WhatsApp refused the message \(code (?P<code>[^)]*)\): (?P<meta>.*)$", re.S)
_NOT_SENT = "not sent: "


def reason_in(lang: str) -> Callable[[str | None], str]:
    """A stored failure reason with our part in `lang` (English is stored as it is)."""

    def reason(text: str | None) -> str:
        if not text or lang != "it":
            return text or ""
        return _italian(text)

    return reason


def _italian(text: str) -> str:
    for pattern, italian in _HELD:
        if match := pattern.match(text):
            return italian.format(**match.groupdict())
    if text.startswith(_NOT_SENT):
        return "non inviato: " + _italian(text[len(_NOT_SENT):])
    if match := _REFUSED.match(text):
        return f"WhatsApp ha rifiutato il messaggio (codice {match['code']}): {match['meta']}"
    if match := _META_SAYS.match(text):
        ours = IT_REASONS.get(match["ours"], match["ours"])
        return f"{ours}{match['sep']}WhatsApp: “{match['meta']}” (codice {match['code']})."
    return IT_REASONS.get(text, text)
