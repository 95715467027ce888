"""English and Italian, gettext-style: the English text is the key, Italian the value.

A missing translation shows the English text (never a key or a blank), and a test
checks that every string the templates and routes use has its Italian entry.
"""
from __future__ import annotations

from typing import Callable

LANGUAGES = {"en": "English", "it": "Italiano"}

# Labels whose key is not itself English text (settings, states).
EN: dict[str, str] = {
    "header-file:image": "A JPEG or PNG image, at most 5 MB. It is uploaded to Meta once, for everyone.",
    "header-file:video": "An MP4 or 3GP video, at most 16 MB. It is uploaded to Meta once, for everyone.",
    "header-file:document": "A document (PDF, Word, Excel…), at most 100 MB. It is uploaded to Meta once, for everyone.",
    "setting:auto_ticket": "Open a ticket for each new conversation",
    "setting:phone_prefix": "Default prefix",
    "setting:time_window_days": "Time window (days)",
    "setting:reference_user": "Reference user",
    "setting:ticket_priority": "Ticket priority",
    "setting:status_open": "Ticket status: open",
    "setting:status_waiting": "Ticket status: waiting for the customer",
    "setting:status_answered": "Ticket status: customer answered",
    "setting:status_closed": "Ticket status: closed",
    "setting:close_after": "Close conversations after",
    "setting:close_after_hours": "Close conversations after (hours)",
    "setting:send_rate_per_second": "Messages per second (the number's throughput tier)",
    "setting:access_token": "WhatsApp access token",
    "setting:media_delivery": "How files are sent (upload or temporary link)",
    "setting:process_ticket_comments": "Process: ticket comments go out on WhatsApp",
    "setting:process_conversation_messages": "Process: WhatsApp answers show on the ticket",
    "setting:process_contact_push": "Process: new records join the WhatsApp address book",
    "setting:mark_read_on_open": "Mark the customer's messages read when an agent opens the conversation",
    "setting:assign_on_reply": "Replying to an unassigned conversation assigns it to me",
    "setting:auto_assign": "Auto-assign new conversations to online agents, in turn",
    "help:auto_assign": "An agent is online while a page of theirs is open; the one with the fewest open conversations gets the next, ties in turn.",
    "setting:auto_assign_cap": "Most open conversations an agent is auto-assigned",
    "setting:contact_push_kinds": "Kinds of record pushed to the address book",
    "setting:fallback_template": "Template sent when the 24-hour window is closed",
    "help:fallback_template": "Its parameters come from the sources set on the template's page (Templates).",
    "source:person.name": "Customer's name",
    "source:person.first_name": "Customer's first name",
    "source:person.company": "Customer's company",
    "source:person.email": "Customer's email",
    "source:ticket.number": "Ticket number",
    "help:close_after": "window: N hours after the customer's last message; created: N hours after the start (the plugin's rule).",
    "setting:crm_timezone": "CRM time zone",
    "setting:opt_out_keywords": "Opt-out keywords per language (the customer's whole message)",
    "setting:opt_in_keywords": "Keywords to opt back in, per language",
    "setting:opt_out_replies": "Reply to an opt-out keyword, per language",
    "setting:opt_in_replies": "Reply to an opt-in keyword, per language",
    "setting:consent_default_language": "Default language of the consent replies",
    "setting:consent_crm_field": "CRM checkbox field kept equal to the marketing opt-out (empty: none)",
    "consent:keyword": "keyword written by the customer",
    "consent:agent": "set by an agent",
    "consent:meta_error": "WhatsApp refused a marketing message (131050)",
    "consent:crm": "from the CRM",
    "setting:crm_phone_fields": "CRM phone fields per kind of record",
    "setting:document_link_ttl_minutes": "Temporary document links live (minutes)",
    "help:auto_ticket": "A customer's open ticket is reused; otherwise a new one is opened.",
    "help:crm_timezone": "The zone an external CRM writes its times in (IANA name, e.g. Europe/Rome).",
    "help:crm_phone_fields": "Fields matched against a customer's number; the first is where a new record's number is written.",
    "help:document_link_ttl_minutes": "A public link WhatsApp has not fetched is deleted after this long.",
    "help:phone_prefix": "How numbers are written into the CRM: +39… or 0039….",
    "help:time_window_days": "How far back synchronisation looks at modified records.",
    "help:reference_user": "New leads and tickets are assigned to this user.",
    "media:pending": "downloading…",
    "media:failed": "download failed",
    "media:expired": "expired at Meta",
    "setting:business_hours": "Business hours",
    "setting:holidays": "Holidays (closed all day)",
    "setting:away_message": "Away message (outside business hours)",
    "help:business_hours": "Per day, open intervals HH:MM-HH:MM separated by commas (an end before the start runs past midnight); an empty day is closed. No day filled in: always open.",
    "help:holidays": "One date a line, YYYY-MM-DD.",
    "help:away_message": "Sent once per conversation per closed period to a customer who writes outside business hours; empty: nothing is sent.",
    "day:mon": "Monday", "day:tue": "Tuesday", "day:wed": "Wednesday", "day:thu": "Thursday",
    "day:fri": "Friday", "day:sat": "Saturday", "day:sun": "Sunday",
    "health:ok": "Working",
    "health:unhealthy": "Not working",
    "health:unknown": "Not checked yet",
    # Scheduled jobs (the registry's descriptions; a test keeps them equal).
    "job:syncCustomers": "Two-way sync of the WhatsApp address book with the CRM's people (changes within the time window)",
    "job:syncMessages": "Reconciliation: retry inbound events, apply early statuses, send queued messages",
    "job:syncTemplates": "Fetch the message templates from Meta",
    "job:closeConversations": "Close conversations by the close_after policy (tickets stay open)",
    "job:analytics": "Update the analytics dashboard's figures from the new messages",
    "setting:template_prices": "Price of one template message per category (analytics)",
    "setting:price_currency": "Currency of the template prices",
    "help:template_prices": "Charged when Meta's pricing says billable, or before Meta said; default: Meta's rates for Italy (USD).",
    # Keys on the keyboard, as printed on an English keyboard.
    "key:Enter": "Enter", "key:Shift": "Shift",
    # Settings' choices (the stored value is the key's second part).
    "choice:window": "window: after the customer's last message", "choice:created": "created: after the start",
    "choice:upload": "upload to Meta", "choice:link": "temporary link",
    # What a canned reply's placeholders stand for (wasb.conversations.canned.PLACEHOLDERS).
    "placeholder:first_name": "the customer's first name", "placeholder:last_name": "the customer's last name",
    "placeholder:name": "the customer's name", "placeholder:phone": "the customer's WhatsApp number",
    "placeholder:agent": "your username", "placeholder:ticket_no": "the ticket number",
    "hook:message.received": "A customer's message arrived",
    "hook:message.status": "One of our messages changed status (sent, delivered, read, failed)",
    "hook:conversation.opened": "A conversation opened (or reopened)",
    "hook:conversation.closed": "A conversation closed (by an agent or the closing policy)",
    "hook:conversation.assigned": "A conversation's agent changed",
    "hook:ticket.created": "A customer's message opened a ticket",
    "hook:consent.changed": "A customer opted out of marketing, or back in",
    # campaigns
    "campaign:draft": "draft", "campaign:running": "sending", "campaign:paused": "paused",
    "campaign:cancelled": "cancelled", "campaign:done": "handed to the sender",
    "setting:country_prices": "Template prices per country (campaign estimates)",
    "help:country_prices": "A line per country: its ISO code, then category=price (e.g. DE marketing=0.1365 utility=0.055). Countries not listed cost the prices per category above. Defaults: Meta's rate card of July 2025 (USD).",
    "setting:campaign_senders": "Agents who may send campaigns",
    "help:campaign_senders": "Admins always may.",
}

# Values that belong to the CRM or to Meta: stored as they come, shown translated. A value
# the catalogue does not know is shown as it is (`kind:value` -> `value`).
VALUE_KINDS = ("event", "ticket-status", "priority", "template-status", "template-category", "quality", "choice", "type")

IT: dict[str, str] = {
    # navigation and layout
    "Skip to content": "Vai al contenuto", "Main": "Principale", "Inbox": "Posta in arrivo", "Tickets": "Ticket",
    "People": "Anagrafiche", "Templates": "Template", "Admin": "Amministrazione", "Settings": "Impostazioni",
    "Jobs": "Cron job", "Inbound events": "Eventi in arrivo", "Users & tokens": "Utenti e token",
    "Live updates": "Aggiornamenti in tempo reale", "Account": "Account", "Language": "Lingua", "Apply": "Applica",
    # what waits for the agent: the badge, browser notifications, the sound
    "Conversations waiting for you: {n}": "Conversazioni che ti aspettano: {n}",
    "New customer messages": "Nuovi messaggi dei clienti", "Browser notifications": "Notifiche del browser",
    "Sound": "Suono", "This browser cannot show notifications.": "Questo browser non può mostrare notifiche.",
    "This browser blocks notifications from WASB: allow them in its site settings.":
        "Questo browser blocca le notifiche di WASB: consentile nelle impostazioni del sito.",
    "Keyboard shortcuts": "Scorciatoie da tastiera", "Log out": "Esci", "Log in": "Accedi", "admin": "amministratore",
    "agent": "operatore", "Close": "Chiudi",
    "Next / previous conversation": "Conversazione successiva / precedente",
    "Open the selected conversation": "Apri la conversazione selezionata", "Search": "Cerca",
    "Reply (focus the composer)": "Rispondi (vai al campo messaggio)", "in the composer": "nel campo messaggio",
    "Send": "Invia", "new line": "nuova riga", "Go to inbox / tickets / people": "Vai a posta / ticket / anagrafiche",
    "Leave a field, close a dialog": "Esci da un campo, chiudi una finestra", "This help": "Questo aiuto",
    # login and errors
    "WhatsApp customer service, inside your CRM": "Il servizio clienti WhatsApp, dentro il tuo CRM",
    "Username": "Nome utente", "Password": "Password", "Wrong username or password.": "Nome utente o password errati.",
    "Too many failed attempts from your address: try again in {minutes} minutes.":
        "Troppi tentativi falliti dal tuo indirizzo: riprova tra {minutes} minuti.",
    "Not for you": "Accesso negato", "Not found": "Non trovato", "Something went wrong": "Qualcosa è andato storto",
    "Back to the inbox": "Torna alla posta in arrivo", "This page is for admins.": "Questa pagina è per gli amministratori.",
    # inbox
    "Conversations": "Conversazioni", "Conversation": "Conversazione", "Search conversations": "Cerca conversazioni",
    "Name, number or text": "Nome, numero o testo", "Filter": "Filtro", "Open": "Aperte", "Mine": "Mie",
    "Unassigned": "Non assegnate", "Closed": "Chiuse", "Association error": "Errore di associazione",
    "{n} unread": "{n} da leggere", "closed": "chiusa", "unassigned": "non assegnata",
    "No conversation matches “{q}”.": "Nessuna conversazione corrisponde a “{q}”.",
    "Nothing here. New WhatsApp messages appear by themselves.":
        "Niente qui. I nuovi messaggi WhatsApp compaiono da soli.",
    "Pick a conversation": "Scegli una conversazione",
    "Use j and k to move through the list, Enter to open, / to search.":
        "Usa j e k per scorrere l'elenco, Invio per aprire, / per cercare.",
    "Time left in the 24-hour window": "Tempo rimasto nella finestra di 24 ore",
    "The 24-hour window is closed: only templates can be sent":
        "La finestra di 24 ore è chiusa: si possono inviare solo template",
    # conversation
    "Assigned to": "Assegnato a", "me": "io", "Assign": "Assegna", "Conversation information": "Informazioni conversazione",
    "Name": "Nome", "Record": "Anagrafica", "Related to": "Relazionato a", "Status": "Stato",
    "Started": "Data e ora avvio", "Starting template": "Template di partenza",
    "Last message status": "Stato ultimo messaggio", "Window closes": "La finestra chiude",
    # private notes and replies to a message
    "Private note": "Nota privata", "Not sent to the customer": "Non inviata al cliente",
    "Reply": "Rispondi", "Reply to this message": "Rispondi a questo messaggio", "Cancel the reply": "Annulla la risposta",
    "Write a private note: the customer never sees it…": "Scrivi una nota privata: il cliente non la vede mai…",
    "A private note: agents see it, the customer never does": "Una nota privata: la vedono gli operatori, mai il cliente",
    "Add a private note": "Aggiungi una nota privata", "Save note": "Salva nota",
    "Write the note first.": "Scrivi prima la nota.", "Private note saved.": "Nota privata salvata.",
    "A private note cannot carry a file.": "Una nota privata non può contenere un file.",
    "Messages": "Messaggi", "You": "Tu", "Reply to a message not in WASB": "Risposta a un messaggio non presente in WASB",
    "The file is not in the media store yet": "Il file non è ancora nell'archivio media", "image": "immagine",
    "Started from ad": "Iniziata da un annuncio", "Started from post": "Iniziata da un post",
    "Open map": "Apri la mappa",
    "{seen} templates at Meta: {new} new, {changed} changed, {gone} gone":
        "{seen} template su Meta: {new} nuovi, {changed} modificati, {gone} rimossi",
    "held": "in attesa",
    "Comment added. The customer's window is closed: it waits for their reply, and the template {name} asks them to write.":
        "Commento aggiunto. La finestra del cliente è chiusa: attende la sua risposta, e il template {name} gli chiede di scrivere.",
    "Comment added. The customer's window is closed: it waits for their reply ({reason}).":
        "Commento aggiunto. La finestra del cliente è chiusa: attende la sua risposta ({reason}).",
    "Comment added, but not sent on WhatsApp: {reason}": "Commento aggiunto, ma non inviato su WhatsApp: {reason}",
    "Comment added and sent on WhatsApp.": "Commento aggiunto e inviato su WhatsApp.", "waiting for the customer to write (the window is closed)":
        "in attesa che il cliente scriva (la finestra è chiusa)",
    "Held by WhatsApp for a quality check of its template: not sent yet":
        "Trattenuto da WhatsApp per un controllo di qualità del template: non ancora inviato",
    "Not delivered": "Non consegnato", "Add {name} to CRM": "Aggiungi {name} al CRM",
    "Create a record in the CRM with this card's name and number": "Crea un'anagrafica nel CRM con nome e numero di questo contatto",
    "Lead {name} added to the CRM.": "Lead {name} aggiunto al CRM.",
    "Contact {name} added to the CRM.": "Contatto {name} aggiunto al CRM.", "Add as": "Aggiungi come",
    "A card becomes a lead or a contact.": "Un contatto condiviso diventa un lead o un contatto.",
    "The card has no name: a CRM record needs one.": "Il contatto non ha un nome: un record del CRM ne ha bisogno.",
    "The card's number {number} is not a valid phone number.": "Il numero {number} del contatto non è un numero di telefono valido.",
    "{n} errors": "{n} errori", "no reason given": "nessun motivo indicato", "Reaction": "Reazione",
    "No messages yet.": "Ancora nessun messaggio.", "read": "letto", "delivered": "consegnato", "sent": "inviato",
    "failed": "non riuscito", "queued": "in coda", "sending": "in invio", "received": "ricevuto",
    "open": "aperta", "Attach a file": "Allega un file", "Message": "Messaggio", "Write a reply…": "Scrivi una risposta…",
    "Enter sends, Shift+Enter starts a new line": "Invio spedisce, Maiusc+Invio va a capo",
    "This conversation is closed.": "Questa conversazione è chiusa.",
    "This conversation is closed: reopen it to write to the customer.":
        "Questa conversazione è chiusa: riaprila per scrivere al cliente.",
    "Reopen the conversation to reply": "Riapri la conversazione per rispondere",
    "Reopen": "Riapri", "Conversation reopened.": "Conversazione riaperta.",
    "The customer's conversation {id} is open: write there.": "La conversazione {id} del cliente è aperta: scrivi lì.",
    "Earlier conversations with this customer": "Conversazioni precedenti con questo cliente",
    "The 24-hour window closed at {when}: only an approved template can reach the customer now.":
        "La finestra di 24 ore si è chiusa alle {when}: ora solo un template approvato può raggiungere il cliente.",
    "The customer has not written yet: only an approved template can reach them.":
        "Il cliente non ha ancora scritto: solo un template approvato può raggiungerlo.",
    "Template": "Template", "Choose a template…": "Scegli un template…", "Parameters of {name}": "Parametri di {name}",
    "Send template": "Invia template",
    "No approved template yet: sync templates from Meta first.":
        "Ancora nessun template approvato: sincronizza prima i template da Meta.",
    "Assigned to {name}.": "Assegnata a {name}.", "Unassigned.": "Non più assegnata.",
    "{name} is not an active user.": "{name} non è un utente attivo.",
    "Ticket assigned to {name}.": "Ticket assegnato a {name}.",
    "“{value}” is not an e-mail address.": "“{value}” non è un indirizzo e-mail.",
    "Contact": "Contatto", "Close the contact panel": "Chiudi il pannello del contatto", "Owner": "Assegnatario",
    "Source": "Origine", "No CRM record for this customer yet.": "Ancora nessuna anagrafica CRM per questo cliente.",
    "Other conversations": "Altre conversazioni", "this conversation": "questa conversazione",
    "{name} is also writing to this customer…": "Anche {name} sta scrivendo a questo cliente…",
    "Conversation closed.": "Conversazione chiusa.", "Write a message or attach a file.": "Scrivi un messaggio o allega un file.",
    "Message queued.": "Messaggio in coda.", "Choose a template.": "Scegli un template.", "Template queued.": "Template in coda.",
    # tickets
    "Number": "Nr. ticket", "Title": "Titolo", "Person": "Anagrafica", "Priority": "Priorità", "Modified": "Orario modifica",
    "Newer": "Più recenti", "Older": "Meno recenti", "Set": "Imposta", "Description": "Descrizione", "Comments": "Commenti",
    "customer": "cliente", "No comments yet.": "Ancora nessun commento.",
    "Add a comment (it goes to the customer on WhatsApp)": "Aggiungi un commento (arriva al cliente su WhatsApp)",
    "Comment": "Commenta", "Ticket information": "Informazioni ticket", "Created": "Orario creazione",
    "WhatsApp conversations": "Conversazioni WASB", "Status set to {status}.": "Stato impostato a {status}.",
    "Write a comment first.": "Scrivi prima un commento.",
    "No tickets yet.": "Ancora nessun ticket.",
    # people
    "New person": "Nuova anagrafica", "Search people": "Cerca anagrafiche",
    "Name, company, e-mail or number": "Nome, azienda, e-mail o numero", "Kind": "Tipo",
    "Leads, contacts and accounts": "Lead, contatti e aziende", "leads": "Lead", "contacts": "Contatti",
    "accounts": "Aziende", "lead": "lead", "contact": "contatto", "account": "azienda", "Mobile": "Cellulare",
    "Company": "Azienda", "E-mail": "E-mail", "Nobody found.": "Nessuno trovato.", "Edit": "Modifica",
    "Push to WhatsApp address book": "Invia alla rubrica WhatsApp", "No conversations yet.": "Ancora nessuna conversazione.",
    "Any writing: +39 335 103 2246, 0039…, or national. It is stored with the configured prefix and must be unique.":
        "Qualsiasi scrittura: +39 335 103 2246, 0039… o nazionale. Viene salvato con il prefisso configurato e deve essere unico.",
    "Save": "Salva", "Cancel": "Annulla", "Saved.": "Salvato.", "A name is needed.": "Serve un nome.",
    "Choose lead, contact or account.": "Scegli lead, contatto o azienda.",
    "The mobile {mobile} already belongs to {kind} {name}.": "Il cellulare {mobile} appartiene già a {kind} {name}.",
    "Pushed to the WhatsApp address book.": "Inviato alla rubrica WhatsApp.",
    "Send a WhatsApp template": "Invia un template WhatsApp",
    # templates
    "Message templates approved by Meta: the only way to write to a customer outside the 24-hour window.":
        "Template di messaggio approvati da Meta: l'unico modo di scrivere a un cliente fuori dalla finestra di 24 ore.",
    "Sync now": "Sincronizza ora", "Category": "Categoria", "Quality": "Qualità", "Parameters": "Parametri",
    "Text": "Testo", "No templates yet. Sync them from Meta.": "Ancora nessun template. Sincronizzali da Meta.",
    # settings
    "The WhatsApp module's global parameters.": "Parametri globali del modulo WhatsApp Smart Business.",
    "Configuration": "Configurazione", "Save settings": "Salva impostazioni", "Settings saved.": "Impostazioni salvate.",
    "Channel": "Canale", "Phone number id": "ID numero di telefono",
    "WhatsApp Business account id": "ID account WhatsApp Business", "Access token": "Token",
    "App secret": "App secret", "Verify token": "Token di verifica", "Graph API": "Graph API", "CRM": "CRM",
    "Time zone": "Fuso orario", "Default country": "Paese predefinito",
    "Credentials come from the WASB_* environment of the server and are shown masked.":
        "Le credenziali vengono dall'ambiente WASB_* del server e sono mostrate mascherate.",
    "setting:auto_ticket": "Apri ticket per nuovo messaggio", "setting:phone_prefix": "Prefisso default",
    "setting:time_window_days": "Finestra temporale (giorni)", "setting:reference_user": "Utente di riferimento",
    "setting:ticket_priority": "Priorità ticket", "setting:status_open": "Stato ticket: aperto",
    "setting:status_waiting": "Stato ticket: in attesa del cliente",
    "setting:status_answered": "Stato ticket: il cliente ha risposto", "setting:status_closed": "Stato ticket: chiuso",
    "setting:close_after": "Chiudi le conversazioni dopo",
    "setting:close_after_hours": "Chiudi le conversazioni dopo (ore)",
    "setting:send_rate_per_second": "Messaggi al secondo (livello di throughput del numero)",
    "setting:access_token": "Token di accesso WhatsApp",
    "setting:media_delivery": "Invio dei file (caricamento o link temporaneo)",
    "setting:process_ticket_comments": "Processo: i commenti dei ticket partono su WhatsApp",
    "setting:process_conversation_messages": "Processo: le risposte WhatsApp compaiono nel ticket",
    "setting:process_contact_push": "Processo: le nuove anagrafiche entrano nella rubrica WhatsApp",
    "setting:mark_read_on_open": "Segna come letti i messaggi del cliente quando un operatore apre la conversazione",
    "setting:assign_on_reply": "Rispondere a una conversazione non assegnata la assegna a me",
    "setting:auto_assign": "Assegna le nuove conversazioni agli operatori online, a turno",
    "help:auto_assign": "Un operatore è online finché una sua pagina è aperta; la prossima va a chi ha meno conversazioni aperte, a parità a turno.",
    "setting:auto_assign_cap": "Massimo di conversazioni aperte assegnate automaticamente a un operatore",
    "setting:contact_push_kinds": "Tipi di anagrafica inviati alla rubrica",
    "setting:fallback_template": "Template inviato a finestra di 24 ore chiusa",
    "help:fallback_template": "I suoi parametri vengono dalle fonti impostate nella pagina del template (Template).",
    "source:person.name": "Nome del cliente", "source:person.first_name": "Nome di battesimo del cliente",
    "source:person.company": "Azienda del cliente", "source:person.email": "Email del cliente",
    "source:ticket.number": "Numero del ticket",
    "None: the comment waits without a template": "Nessuno: il commento attende senza template",
    "Nothing was saved: correct the fields marked below.": "Non è stato salvato nulla: correggi i campi segnalati sotto.",
    # template parameters
    "Header": "Intestazione", "Button {n}": "Pulsante {n}",
    "Fill in {{{{{name}}}}}: the customer would read it empty.": "Compila {{{{{name}}}}}: il cliente lo leggerebbe vuoto.",
    "Fill in every parameter before sending.": "Compila tutti i parametri prima di inviare.",
    "Parameter sources": "Fonti dei parametri", "Parameter sources saved.": "Fonti dei parametri salvate.",
    "Where each parameter's value comes from when an agent picks this template, and when it is the fallback template.":
        "Da dove viene il valore di ogni parametro quando un operatore sceglie questo template, e quando è il template di riserva.",
    "example: {value}": "esempio: {value}", "Ask the agent": "Chiedi all'operatore",
    "This template has no parameters.": "Questo template non ha parametri.",
    "A parameter asked of the agent is left empty in the picker, and the fallback template is not sent while one is.":
        "Un parametro chiesto all'operatore resta vuoto nel selettore, e il template di riserva non parte finché ce n'è uno.",
    "help:close_after": "finestra: N ore dopo l'ultimo messaggio del cliente; creazione: N ore dopo l'avvio (la regola del plugin).",
    "setting:crm_timezone": "Fuso orario del CRM",
    "setting:opt_out_keywords": "Parole chiave per disiscriversi, per lingua (l'intero messaggio del cliente)",
    "setting:opt_in_keywords": "Parole chiave per iscriversi di nuovo, per lingua",
    "setting:opt_out_replies": "Risposta alla disiscrizione, per lingua",
    "setting:opt_in_replies": "Risposta alla nuova iscrizione, per lingua",
    "setting:consent_default_language": "Lingua predefinita delle risposte sul consenso",
    "setting:consent_crm_field": "Campo casella del CRM allineato alla disiscrizione dal marketing (vuoto: nessuno)",
    "consent:keyword": "parola chiave scritta dal cliente",
    "consent:agent": "impostato da un operatore",
    "consent:meta_error": "WhatsApp ha rifiutato un messaggio di marketing (131050)",
    "consent:crm": "dal CRM",
    "Opted out of marketing": "Disiscritto dal marketing",
    "Marketing messages": "Messaggi di marketing",
    "Accepted": "Accettati",
    "Opt out of marketing": "Disiscrivi dal marketing",
    "Opt back in to marketing": "Iscrivi di nuovo al marketing",
    "Opted out of marketing.": "Disiscritto dal marketing.",
    "Opted back in to marketing.": "Iscritto di nuovo al marketing.",
    "Choose opt out or opt in.": "Scegli se disiscrivere o iscrivere.",
    "The customer opted out of marketing messages: marketing templates are not sent to them. Service replies and utility templates still go.":
        "Il cliente si è disiscritto dai messaggi di marketing: i template di marketing non gli vengono inviati. "
        "Le risposte di assistenza e i template di servizio partono comunque.",
    "setting:crm_phone_fields": "Campi telefono del CRM per tipo di anagrafica",
    "setting:document_link_ttl_minutes": "Durata dei link temporanei ai documenti (minuti)",
    "help:auto_ticket": "Se il cliente ha un ticket aperto viene riusato, altrimenti se ne apre uno nuovo.",
    "help:crm_timezone": "Il fuso in cui un CRM esterno scrive le sue date (nome IANA, es. Europe/Rome).",
    "help:crm_phone_fields": "Campi confrontati con il numero del cliente; il primo è dove si scrive il numero di una nuova anagrafica.",
    "help:document_link_ttl_minutes": "Un link pubblico che WhatsApp non ha scaricato viene cancellato dopo questo tempo.",
    "help:phone_prefix": "Come i numeri vengono scritti nel CRM: +39… o 0039….",
    "help:time_window_days": "Quanto indietro la sincronizzazione guarda i record modificati.",
    "help:reference_user": "Nuovi lead e ticket vengono assegnati a questo utente.",
    "media:pending": "download in corso…", "media:failed": "download non riuscito", "media:expired": "scaduto su Meta",
    "setting:business_hours": "Orari di apertura",
    "setting:holidays": "Festività (chiuso tutto il giorno)",
    "setting:away_message": "Messaggio di assenza (fuori orario)",
    "help:business_hours": "Per giorno, intervalli di apertura HH:MM-HH:MM separati da virgole (una fine prima dell'inizio prosegue dopo la mezzanotte); un giorno vuoto è chiuso. Nessun giorno compilato: sempre aperto.",
    "help:holidays": "Una data per riga, AAAA-MM-GG.",
    "help:away_message": "Inviato una volta per conversazione e per periodo di chiusura al cliente che scrive fuori orario; vuoto: non viene inviato nulla.",
    "day:mon": "Lunedì", "day:tue": "Martedì", "day:wed": "Mercoledì", "day:thu": "Giovedì",
    "day:fri": "Venerdì", "day:sat": "Sabato", "day:sun": "Domenica",
    "Outside business hours": "Fuori orario di apertura", "opens again {time}": "riapre {time}",
    "System: away message": "Sistema: messaggio di assenza",
    "Sent automatically outside business hours": "Inviato automaticamente fuori orario di apertura",
    "System: consent confirmation": "Sistema: conferma del consenso",
    "Sent automatically when the customer opted out or back in": "Inviato automaticamente quando il cliente ha revocato o ridato il consenso",
    "health:ok": "Funzionante", "health:unhealthy": "Non funzionante", "health:unknown": "Non ancora verificato",
    # jobs
    "Cron jobs": "Cron job", "Scheduled synchronisation with Meta and the CRM.": "Sincronizzazioni pianificate con Meta e il CRM.",
    "Active": "Attivo", "Attempts": "Tentativi", "Last run": "Ultima esecuzione", "Schedule": "Esegui",
    "Actions": "Azioni", "on": "sì", "off": "no", "Reset": "Azzera", "Run now": "Esegui ora", "Done.": "Fatto.",
    "idle": "inattivo", "running": "in esecuzione", "stopped": "fermo", "next": "prossima",
    "at HH:MM or every N s": "alle HH:MM oppure ogni N s", "{name} will run in a moment.": "{name} partirà tra un momento.",
    "{name} reset.": "{name} azzerato.", "{name} saved.": "{name} salvato.",
    "sent {time}": "inviato {time}", "written {time}": "scritto {time}",
    "{name} switched on.": "{name} attivato.", "{name} switched off.": "{name} disattivato.",
    "Backlog": "Arretrato", "behind": "in ritardo", "keeping up": "al passo",
    "webhooks accepted, not yet processed": "webhook accettati, non ancora elaborati", "jobs due": "job da eseguire",
    "oldest waiting": "il più vecchio attende da",
    "customers held by a worker that stopped": "clienti fermi dietro un worker che si è fermato",
    'Webhooks are always accepted; when the backlog grows, /healthz says "busy".':
        'I webhook sono sempre accettati; quando l\'arretrato cresce, /healthz risponde "busy".',
    # inbound events
    "Every webhook Meta sent is kept. Failed ones can be run again once the cause is fixed.":
        "Ogni webhook inviato da Meta viene conservato. Quelli falliti si possono rieseguire dopo averne corretto la causa.",
    "Failed": "Falliti", "Pending": "In attesa", "Processed": "Elaborati", "All": "Tutti", "Received": "Ricevuto",
    "State": "Stato", "Error": "Errore", "Size": "Dimensione", "Retry": "Riprova", "No events here.": "Nessun evento qui.",
    "Nothing has failed.": "Non è fallito niente.", "pending": "in attesa", "processed": "elaborato",
    "Event {id} queued again.": "Evento {id} rimesso in coda.",
    "Event {id} could not be retried: its body is not a WhatsApp webhook.":
        "L'evento {id} non si può rieseguire: il contenuto non è un webhook WhatsApp.",
    # users and tokens
    "New API token — copy it now, it is shown only once:": "Nuovo token API — copialo ora, viene mostrato una sola volta:",
    "Copy": "Copia", "Users": "Utenti", "Role": "Ruolo", "Unlock": "Sblocca", "API tokens": "Token API",
    "Last used": "Ultimo uso", "revoked": "revocato", "Revoke": "Revoca",
    "Revoke this token? Tools using it stop working at once.":
        "Revocare questo token? Gli strumenti che lo usano smettono subito di funzionare.",
    "New user": "Nuovo utente", "Create user": "Crea utente", "New API token": "Nuovo token API",
    "e.g. vtenext workflow": "es. workflow vtenext", "Create token": "Crea token",
    "A user named {name} already exists.": "Esiste già un utente {name}.", "User {name} created.": "Utente {name} creato.",
    "Unlocked.": "Sbloccato.",
    "Deactivate": "Disattiva", "Activate": "Riattiva", "deactivated": "disattivato",
    "Deactivate this user? They are logged out at once and cannot log in.":
        "Disattivare questo utente? Viene disconnesso subito e non può più accedere.",
    "Deactivated: logged out everywhere.": "Disattivato: disconnesso ovunque.", "Activated.": "Riattivato.",
    "You cannot deactivate yourself.": "Non puoi disattivare te stesso.", "A token needs a name.": "Un token ha bisogno di un nome.", "Token revoked.": "Token revocato.",
    "a password needs at least 8 characters": "una password deve avere almeno 8 caratteri",
    "Last login": "Ultimo accesso", "never": "mai", "Manage": "Gestisci", "Change role": "Cambia ruolo",
    "New password": "Nuova password", "Reset password": "Reimposta password",
    "Set this password? The user is logged out everywhere and must use the new one.":
        "Impostare questa password? L'utente viene disconnesso ovunque e deve usare quella nuova.",
    "You cannot change your own role.": "Non puoi cambiare il tuo ruolo.", "Role changed.": "Ruolo cambiato.",
    "No such user.": "Utente inesistente.",
    "Password reset: the user is logged out everywhere.": "Password reimpostata: l'utente è disconnesso ovunque.",
    # issue 16: what was still English
    "job:syncCustomers": "Sincronizzazione bidirezionale della rubrica WhatsApp con le anagrafiche del CRM (modifiche nella finestra temporale)",
    "job:syncMessages": "Riconciliazione: riprova gli eventi in arrivo, applica gli stati arrivati prima, invia i messaggi in coda",
    "job:syncTemplates": "Scarica i template di messaggio da Meta",
    "job:closeConversations": "Chiude le conversazioni secondo la regola close_after (i ticket restano aperti)",
    "every {n} s": "ogni {n} s", "at {time}": "alle {time}",
    "A schedule is “every N s” (N from {low} to {high}) or “at HH:MM”, not “{value}”.":
        "Una pianificazione è “ogni N s” (N da {low} a {high}) oppure “alle HH:MM”, non “{value}”.",
    "{name} stopped after too many failed runs: reset it to run it again.":
        "{name} si è fermato dopo troppe esecuzioni fallite: azzeralo per eseguirlo di nuovo.",
    "{name} is running or queued: try again once the run is over.":
        "{name} è in esecuzione o in coda: riprova a esecuzione finita.",
    "“{value}” is not a valid phone number.": "“{value}” non è un numero di telefono valido.",
    "key:Enter": "Invio", "key:Shift": "Maiusc",
    "choice:window": "finestra: dopo l'ultimo messaggio del cliente", "choice:created": "creazione: dopo l'avvio",
    "choice:upload": "caricamento su Meta", "choice:link": "link temporaneo",
    "ticket-status:Open": "Aperto", "ticket-status:In Progress": "In lavorazione",
    "ticket-status:Wait For Response": "In attesa di risposta", "ticket-status:Answered by customer": "Risposto dal cliente",
    "ticket-status:Closed": "Chiuso",
    "priority:Low": "Bassa", "priority:Normal": "Normale", "priority:High": "Alta", "priority:Urgent": "Urgente",
    "template-status:approved": "approvato", "template-status:pending": "in revisione",
    "template-status:rejected": "rifiutato", "template-status:paused": "in pausa", "template-status:disabled": "disattivato",
    "template-status:deleted": "eliminato", "template-status:in_appeal": "in ricorso",
    "template-category:utility": "servizio", "template-category:marketing": "marketing",
    "template-category:authentication": "autenticazione",
    "quality:green": "alta", "quality:yellow": "media", "quality:red": "bassa", "quality:unknown": "sconosciuta",
    "type:image": "immagine", "type:video": "video", "type:audio": "audio", "type:document": "documento",
    "type:sticker": "sticker", "type:location": "posizione", "type:contacts": "contatti", "type:template": "template",
    "type:interactive": "risposta interattiva", "type:button": "pulsante", "type:reaction": "reazione",
    "type:unsupported": "non supportato", "type:text": "testo",
    "Buttons": "Pulsanti",
    "Type": "Tipo", "Detail": "Dettaglio", "Payload": "Contenuto",
    "event:message": "messaggio", "event:status": "stato di consegna", "event:mixed": "messaggi e stati",
    "event:unreadable": "illeggibile", "event:unknown": "sconosciuto",
    "event:message_template_status_update": "stato di un template", "event:account_update": "aggiornamento account",
    "event:phone_number_quality_update": "qualità del numero", "event:template_category_update": "categoria di un template",
    "Number or title": "Numero o titolo", "Any status": "Qualsiasi stato", "Anyone": "Chiunque",
    "Untouched for": "Fermo da", "Any time": "Qualsiasi data", "{n}+ days": "{n}+ giorni", "1+ day": "1+ giorno",
    "Apply filters": "Applica filtri", "Clear": "Azzera", "No ticket matches these filters.": "Nessun ticket corrisponde a questi filtri.",
    # canned replies
    "Canned replies": "Risposte rapide", "New canned reply": "Nuova risposta rapida", "Shortcut": "Scorciatoia",
    "For": "Per", "team": "tutto il team", "only me": "solo io", "Delete": "Elimina", "Create": "Crea",
    "Delete this canned reply?": "Eliminare questa risposta rapida?",
    "No canned reply yet: write the first one.": "Ancora nessuna risposta rapida: scrivi la prima.",
    "How to use them": "Come usarle",
    "In a conversation type / and the shortcut, then pick the reply with the arrows and Enter, or click it.":
        "In una conversazione scrivi / e la scorciatoia, poi scegli la risposta con le frecce e Invio, o con un clic.",
    "Filled from the customer's CRM record and from you:": "Compilati dall'anagrafica CRM del cliente e da te:",
    "A placeholder with no value stays as written, for you to complete.":
        "Un segnaposto senza valore resta com'è scritto, da completare a mano.",
    "The team's replies are managed by an admin.": "Le risposte del team sono gestite da un amministratore.",
    "placeholder:first_name": "il nome del cliente", "placeholder:last_name": "il cognome del cliente",
    "placeholder:name": "il nome completo del cliente", "placeholder:phone": "il numero WhatsApp del cliente",
    "placeholder:agent": "il tuo nome utente", "placeholder:ticket_no": "il numero del ticket",
    "Canned reply /{shortcut} saved.": "Risposta rapida /{shortcut} salvata.",
    "Canned reply deleted.": "Risposta rapida eliminata.", "No such canned reply.": "Risposta rapida inesistente.",
    "A shortcut is 1 to 32 letters, digits, - or _.": "Una scorciatoia è fatta da 1 a 32 lettere, cifre, - o _.",
    "Give the reply a title.": "Dai un titolo alla risposta.",
    "The title is longer than 100 characters.": "Il titolo supera i 100 caratteri.",
    "Write the reply's text.": "Scrivi il testo della risposta.",
    "The text is longer than 4096 characters.": "Il testo supera i 4096 caratteri.",
    "The text must not contain the NUL character.": "Il testo non può contenere il carattere NUL.",
    "The team already has a reply with this shortcut.": "Il team ha già una risposta con questa scorciatoia.",
    "You already have a reply with this shortcut.": "Hai già una risposta con questa scorciatoia.",
    "Only a user has personal replies: use a user's token, or create a shared one as an admin.":
        "Solo un utente ha risposte personali: usa il token di un utente, o creane una del team da amministratore.",
    "Only an admin changes the team's shared replies.": "Solo un amministratore modifica le risposte del team.",
    "Canned replies: type / and a shortcut": "Risposte rapide: scrivi / e una scorciatoia",
    "No canned reply matches.": "Nessuna risposta rapida corrisponde.",
    "personal": "personale",
    # analytics (issue 17, part 4)
    "job:analytics": "Aggiorna i dati della dashboard di analisi con i nuovi messaggi",
    "setting:template_prices": "Prezzo di un messaggio template per categoria (analisi)",
    "setting:price_currency": "Valuta dei prezzi dei template",
    "help:template_prices": "Addebitato quando il pricing di Meta dice fatturabile, o prima che Meta lo dica; predefiniti: le tariffe di Meta per l'Italia (USD).",
    "Analytics": "Analisi",
    "Days in {zone}; response times count business hours only.":
        "Giorni nel fuso {zone}; i tempi di risposta contano solo l'orario di lavoro.",
    "Updated {when}.": "Aggiornato il {when}.",
    "Not computed yet: the analytics job has not run.": "Non ancora calcolato: il job analytics non è ancora stato eseguito.",
    "From": "Dal", "To": "Al", "Agent": "Operatore", "Everyone": "Tutti", "Show": "Mostra", "Export CSV": "Esporta CSV",
    "Conversations opened": "Conversazioni aperte", "Messages in": "Messaggi ricevuti", "Messages out": "Messaggi inviati",
    "First response (median)": "Prima risposta (mediana)", "First response (p90)": "Prima risposta (p90)",
    "Resolution (median)": "Risoluzione (mediana)", "Resolution (p90)": "Risoluzione (p90)",
    "Windows expired without an answer": "Finestre scadute senza risposta",
    "Per agent": "Per operatore", "No agent has figures in these days.": "Nessun operatore ha dati in questi giorni.",
    "Templates and cost": "Template e costi", "Templates sent": "Template inviati", "Cost ({currency})": "Costo ({currency})",
    "No template was sent in these days.": "Nessun template inviato in questi giorni.",
    "Cost: Meta's pricing of each message's status says whether it was billable; the price per category is set in Settings (template_prices).":
        "Costo: il pricing di Meta nello stato di ogni messaggio dice se era fatturabile; il prezzo per categoria si imposta in Impostazioni (template_prices).",
    "Conversations and messages per day": "Conversazioni e messaggi al giorno",
    "Templates sent per day": "Template inviati al giorno",
    "Template cost per day ({currency})": "Costo dei template al giorno ({currency})",
    "Dates: {reason}": "Date: {reason}",
    # outgoing webhooks
    "Webhooks": "Webhook", "Endpoints": "Endpoint", "Address": "Indirizzo", "Events": "Eventi", "Event": "Evento",
    "Code": "Codice", "Resend": "Reinvia", "Latest deliveries": "Ultimi invii",
    "New endpoint": "Nuovo endpoint", "Add endpoint": "Aggiungi endpoint", "Nothing delivered yet.": "Ancora nessun invio.",
    "WASB posts its events to these addresses, signed with each endpoint's secret, in order per conversation, and tries again for 24 hours.":
        "WASB invia i suoi eventi a questi indirizzi, firmati con il segreto di ciascun endpoint, in ordine per conversazione, e riprova per 24 ore.",
    "Signing secret of the new endpoint — copy it now, it is shown only once:":
        "Segreto di firma del nuovo endpoint — copialo ora, viene mostrato una sola volta:",
    "Delete this endpoint? Nothing more is sent to it and its delivery log is deleted.":
        "Eliminare questo endpoint? Non gli viene più inviato nulla e il suo registro degli invii viene cancellato.",
    "No endpoint yet: events are not sent anywhere.": "Nessun endpoint: gli eventi non vengono inviati da nessuna parte.",
    "How to check a delivery's signature: see the README, “Outgoing webhooks”.":
        "Come verificare la firma di un invio: vedi il README, “Outgoing webhooks”.",
    "“{url}” is not a web address: it starts with https:// (or http://) and names a host.":
        "“{url}” non è un indirizzo web: inizia con https:// (o http://) e indica un host.",
    "The address must not hold a user name or password: deliveries are signed instead.":
        "L'indirizzo non deve contenere nome utente o password: gli invii sono firmati.",
    "The address is longer than 2000 characters.": "L'indirizzo supera i 2000 caratteri.",
    "Unknown event: {events}.": "Evento sconosciuto: {events}.", "Choose at least one event.": "Scegli almeno un evento.",
    "Endpoint deleted.": "Endpoint eliminato.", "Delivery {id} queued again as {new}.": "Invio {id} rimesso in coda come {new}.",
    "hook:message.received": "È arrivato un messaggio di un cliente",
    "hook:message.status": "Un nostro messaggio ha cambiato stato (inviato, consegnato, letto, non riuscito)",
    "hook:conversation.opened": "Una conversazione è stata aperta (o riaperta)",
    "hook:conversation.closed": "Una conversazione è stata chiusa (da un operatore o dalla regola di chiusura)",
    "hook:conversation.assigned": "È cambiato l'operatore di una conversazione",
    "hook:ticket.created": "Un messaggio di un cliente ha aperto un ticket",
    "hook:consent.changed": "Un cliente ha revocato o ridato il consenso al marketing",
    # campaigns
    "Campaigns": "Campagne", "New campaign": "Nuova campagna",
    "An approved template sent to many customers at once, under the number's send rate: agents' replies always go first.":
        "Un template approvato inviato a molti clienti insieme, entro il ritmo di invio del numero: le risposte degli operatori passano sempre prima.",
    "Campaigns need an admin, or an agent an admin named in Settings (campaign senders).":
        "Le campagne richiedono un amministratore, o un operatore indicato da un amministratore nelle Impostazioni (chi invia campagne).",
    "Recipients": "Destinatari", "Sent": "Inviati", "Delivered": "Consegnati", "Read": "Letti", "Replies": "Risposte",
    "No campaign yet.": "Nessuna campagna per ora.",
    "campaign:draft": "bozza", "campaign:running": "in invio", "campaign:paused": "in pausa",
    "campaign:cancelled": "annullata", "campaign:done": "affidata al mittente",
    "Nothing is sent yet: the next page shows who gets it, what they read and what it costs, before you start it.":
        "Non si invia ancora nulla: la pagina seguente mostra chi la riceve, cosa legge e quanto costa, prima di avviarla.",
    "Choose": "Scegli", "Who gets it": "Chi la riceve", "People of the CRM": "Persone del CRM", "Every kind": "Ogni tipo",
    "Any owner": "Qualsiasi assegnatario", "Field": "Campo", "equals": "uguale a", "A CSV file": "Un file CSV",
    "One number per line: the first column, or the column headed phone, mobile or number. The other columns can fill parameters.":
        "Un numero per riga: la prima colonna, o la colonna intitolata phone, mobile o number. Le altre colonne possono riempire i parametri.",
    "Each parameter: a CRM field of the person, a column of the CSV file, or the same text for everyone.":
        "Ogni parametro: un campo CRM della persona, una colonna del file CSV, o lo stesso testo per tutti.",
    "CSV column…": "Colonna del CSV…", "Same text for everyone…": "Stesso testo per tutti…", "Column or text": "Colonna o testo",
    "Prepare": "Prepara", "by {name}": "di {name}", "Progress": "Avanzamento", "Waiting": "In attesa", "Queued": "In coda",
    "Not sent (cancelled)": "Non inviati (annullata)", "Why messages failed": "Perché i messaggi non sono partiti",
    "Start sending": "Avvia l'invio", "Pause": "Pausa", "Resume": "Riprendi", "Report (CSV)": "Resoconto (CSV)",
    "Cancel this campaign? Nobody gets it.": "Annullare questa campagna? Nessuno la riceverà.",
    "Cancel this campaign? Those not sent yet will not get it.": "Annullare questa campagna? Chi non l'ha ancora ricevuta non la riceverà.",
    "Send this template to {n} people?": "Inviare questo template a {n} persone?",
    "What they read": "Cosa leggono", "Nobody left to send to.": "Nessuno a cui inviare.", "Audience": "Destinatari",
    "Opted out (left out)": "Disiscritti (esclusi)", "Invalid (left out)": "Non validi (esclusi)",
    "Repeated numbers (left out)": "Numeri ripetuti (esclusi)", "Estimated cost": "Costo stimato",
    "The cost follows the price table in Settings (per country and category); Meta bills delivered messages only.":
        "Il costo segue la tabella dei prezzi nelle Impostazioni (per paese e categoria); Meta addebita solo i messaggi consegnati.",
    "Left out": "Esclusi", "Line": "Riga", "Why": "Perché",
    "The CSV file is larger than 5 MB: split it.": "Il file CSV supera i 5 MB: dividilo.",
    "Campaign prepared: check it, then start it.": "Campagna preparata: controllala, poi avviala.",
    "Campaign started.": "Campagna avviata.", "Campaign paused.": "Campagna in pausa.", "Campaign resumed.": "Campagna ripresa.",
    "Campaign cancelled: nobody else gets it.": "Campagna annullata: nessun altro la riceverà.",
    "setting:country_prices": "Prezzi dei template per paese (stime delle campagne)",
    "help:country_prices": "Una riga per paese: il codice ISO, poi categoria=prezzo (es. DE marketing=0.1365 utility=0.055). I paesi non elencati costano i prezzi per categoria sopra. Predefiniti: il listino di Meta di luglio 2025 (USD).",
    "setting:campaign_senders": "Operatori che possono inviare campagne",
    "help:campaign_senders": "Gli amministratori possono sempre.",
    "Campaign": "Campagna", "Campaign results": "Risultati delle campagne",
    "No campaign started in these days.": "Nessuna campagna avviata in questi giorni.",
    "The customer answered this campaign": "Il cliente ha risposto a questa campagna",
    "The header's file": "Il file dell'intestazione", "The header file is larger than 100 MB.": "Il file dell'intestazione supera i 100 MB.",
    "header-file:image": "Un'immagine JPEG o PNG, al massimo 5 MB. Viene caricata su Meta una volta sola, per tutti.",
    "header-file:video": "Un video MP4 o 3GP, al massimo 16 MB. Viene caricato su Meta una volta sola, per tutti.",
    "header-file:document": "Un documento (PDF, Word, Excel…), al massimo 100 MB. Viene caricato su Meta una volta sola, per tutti.",
    "Header file": "File dell'intestazione",
}


def language_of(user, accept_language: str = "") -> str:
    if user is not None and user.language in LANGUAGES:
        return user.language
    return "it" if accept_language.lower().startswith("it") else "en"


def _humanize(key: str) -> str:
    return key.partition(":")[2].replace("_", " ").capitalize()


def translator(lang: str) -> Callable[..., str]:
    catalog = IT if lang == "it" else EN

    def _(text: str, **values) -> str:
        translated = catalog.get(text) or EN.get(text)
        if translated is None:
            kind, colon, value = text.partition(":")
            if text.startswith("setting:"):  # a setting a later issue adds: readable until translated
                translated = _humanize(text)
            elif colon and kind in VALUE_KINDS:
                translated = value
            else:
                translated = text
        return translated.format(**values) if values else translated

    return _
