"""What the hotline says by itself, per language: greeting, queue, busy, menu, and the
operators' approved quick replies. Written by people, never machine-translated."""

from __future__ import annotations

import string

__all__ = [
    "LANGUAGE_NAMES",
    "PROMPTS",
    "PROMPT_LANGUAGES",
    "QUICK_REPLIES",
    "prompt",
    "quick_reply",
]

PROMPT_LANGUAGES = ("en", "es", "ko", "zh", "ca", "fr", "ja", "ru", "de", "ar")
"""Every language the hotline speaks by itself, in the order of the default DTMF menu
(``call.menu_languages``: digit 1 is the first, 0 the tenth). New languages go last, so
that the digits callers know keep their meaning."""

LANGUAGE_NAMES = {
    "en": "English",
    "es": "Español",
    "ca": "Català",
    "ko": "한국어",
    "zh": "中文",
    "fr": "Français",
    "ja": "日本語",
    "ru": "Русский",
    "de": "Deutsch",
    "ar": "العربية",
}

PROMPTS: dict[str, dict[str, str]] = {
    "greeting": {
        "en": "Welcome to the city hotline. Please hold for an operator.",
        "es": "Bienvenido a la línea de atención ciudadana. Por favor, espere a un operador.",
        "ca": "Benvingut a la línia d'atenció ciutadana. Si us plau, esperi un operador.",
        "ko": "시민 상담 전화에 오신 것을 환영합니다. 상담원을 기다려 주십시오.",
        "zh": "欢迎致电市民热线。请稍候，接线员马上为您服务。",
        "fr": "Bienvenue sur la ligne citoyenne. Veuillez patienter, un opérateur va vous répondre.",
        "ja": "市民ホットラインにお電話いただき、ありがとうございます。オペレーターにおつなぎしますので、そのままお待ちください。",
        "ru": "Вас приветствует городская горячая линия. Пожалуйста, оставайтесь на линии, вам ответит оператор.",
        "de": "Willkommen beim Bürgertelefon der Stadt. Bitte bleiben Sie in der Leitung, Sie werden gleich verbunden.",
        "ar": "مرحبًا بكم في الخط الساخن للمدينة. يُرجى البقاء على الخط حتى يردّ عليكم أحد الموظفين.",
    },
    "position": {
        "en": "You are number {position} in the queue.",
        "es": "Usted es el número {position} en la cola.",
        "ca": "Vostè és el número {position} a la cua.",
        "ko": "대기 순서는 {position}번입니다.",
        "zh": "您前面排在第{position}位。",
        "fr": "Vous êtes le numéro {position} dans la file d'attente.",
        "ja": "お客様の順番は{position}番目です。",
        "ru": "Ваш номер в очереди: {position}.",
        "de": "Sie sind an Position {position} in der Warteschlange.",
        "ar": "ترتيبكم في قائمة الانتظار هو {position}.",
    },
    "connected": {
        "en": "You are now connected to an operator. Please go ahead.",
        "es": "Ya está conectado con un operador. Puede hablar.",
        "ca": "Ja està connectat amb un operador. Pot parlar.",
        "ko": "상담원과 연결되었습니다. 말씀해 주십시오.",
        "zh": "已为您接通接线员，请讲。",
        "fr": "Vous êtes en ligne avec un opérateur. Vous pouvez parler.",
        "ja": "オペレーターにおつなぎしました。どうぞお話しください。",
        "ru": "Вы соединены с оператором. Говорите, пожалуйста.",
        "de": "Sie sind jetzt mit dem Bürgerservice verbunden. Bitte sprechen Sie.",
        "ar": "تم توصيلكم بأحد الموظفين. تفضّلوا بالحديث.",
    },
    "busy": {
        "en": "All our operators are busy. Your call has been recorded. Please call again later.",
        "es": "Todos nuestros operadores están ocupados. Su llamada ha quedado registrada. Llame más tarde.",
        "ca": "Tots els nostres operadors estan ocupats. La seva trucada ha quedat registrada. Truqui més tard.",
        "ko": "모든 상담원이 통화 중입니다. 통화가 기록되었습니다. 나중에 다시 전화해 주십시오.",
        "zh": "所有接线员都在忙。您的来电已记录，请稍后再拨。",
        "fr": "Tous nos opérateurs sont occupés. Votre appel a été enregistré. Veuillez rappeler plus tard.",
        "ja": "ただいま、オペレーターはすべて対応中です。このお電話は記録いたしました。恐れ入りますが、しばらくしてからおかけ直しください。",
        "ru": "Все операторы сейчас заняты. Ваш звонок зарегистрирован. Пожалуйста, перезвоните позже.",
        "de": "Leider sind zurzeit alle Leitungen belegt. Ihr Anruf wurde erfasst. Bitte rufen Sie später noch einmal an.",
        "ar": "جميع الموظفين مشغولون حاليًا. تم تسجيل مكالمتكم. يُرجى معاودة الاتصال لاحقًا.",
    },
    "menu_item": {
        "en": "For English, press {digit}.",
        "es": "Para español, pulse {digit}.",
        "ca": "Per al català, premi {digit}.",
        "ko": "한국어는 {digit}번을 누르십시오.",
        "zh": "中文请按{digit}。",
        "fr": "Pour le français, appuyez sur {digit}.",
        "ja": "日本語の方は{digit}番を押してください。",
        "ru": "Для русского языка нажмите {digit}.",
        "de": "Für Deutsch drücken Sie bitte die {digit}.",
        "ar": "للعربية، يُرجى الضغط على {digit}.",
    },
    "readback": {
        "en": "You are reporting: {service}, at {place}. If that is right, press 1 or say yes. To correct it, press 2 or say no.",
        "es": "Usted informa de: {service}, en {place}. Si es correcto, pulse 1 o diga sí. Para corregirlo, pulse 2 o diga no.",
        "ca": "Vostè informa de: {service}, a {place}. Si és correcte, premi 1 o digui sí. Per corregir-ho, premi 2 o digui no.",
        "ko": "신고 내용은 {place}의 {service}입니다. 맞으면 1번을 누르거나 네라고 말씀해 주십시오. 고치려면 2번을 누르거나 아니요라고 말씀해 주십시오.",
        "zh": "您反映的是：{place}的{service}。正确请按1或说“是”，需要更正请按2或说“不是”。",
        "fr": "Vous signalez : {service}, à {place}. Si c'est exact, appuyez sur 1 ou dites oui. Pour corriger, appuyez sur 2 ou dites non.",
        "ja": "ご連絡の内容は、{place}の{service}ですね。よろしければ1を押すか「はい」とお答えください。訂正する場合は2を押すか「いいえ」とお答えください。",
        "ru": "Вы сообщаете: {service}, адрес: {place}. Если всё верно, нажмите 1 или скажите «да». Чтобы исправить, нажмите 2 или скажите «нет».",
        "de": "Sie melden: {service}, Ort: {place}. Wenn das stimmt, drücken Sie die 1 oder sagen Sie „Ja“. Zum Korrigieren drücken Sie die 2 oder sagen Sie „Nein“.",
        "ar": "بلاغكم: {service}، في {place}. إذا كان ذلك صحيحًا، يُرجى الضغط على 1 أو قول «نعم». للتصحيح، يُرجى الضغط على 2 أو قول «لا».",
    },
    "readback_yes": {
        "en": "Thank you. Your request is filed under number {n}.",
        "es": "Gracias. Su solicitud queda registrada con el número {n}.",
        "ca": "Gràcies. La seva sol·licitud queda registrada amb el número {n}.",
        "ko": "감사합니다. 접수 번호는 {n}입니다.",
        "zh": "谢谢。您的诉求已登记，编号是{n}。",
        "fr": "Merci. Votre demande est enregistrée sous le numéro {n}.",
        "ja": "ありがとうございます。受付番号は{n}です。",
        "ru": "Спасибо. Ваше обращение зарегистрировано под номером {n}.",
        "de": "Vielen Dank. Ihr Anliegen ist unter der Nummer {n} erfasst.",
        "ar": "شكرًا لكم. تم تسجيل طلبكم برقم {n}.",
    },
    "readback_no": {
        "en": "Thank you. The operator will correct it.",
        "es": "Gracias. El operador lo corregirá.",
        "ca": "Gràcies. L'operador ho corregirà.",
        "ko": "감사합니다. 상담원이 수정해 드리겠습니다.",
        "zh": "谢谢，接线员会为您更正。",
        "fr": "Merci. L'opérateur va le corriger.",
        "ja": "ありがとうございます。オペレーターが訂正いたします。",
        "ru": "Спасибо. Оператор внесёт исправления.",
        "de": "Vielen Dank. Die Angaben werden jetzt korrigiert.",
        "ar": "شكرًا لكم. سيقوم الموظف بتصحيح ذلك.",
    },
    "survey": {
        "en": "Before you go: how satisfied are you with this call? Press 1 to 5; 5 means very satisfied.",
        "es": "Antes de colgar: ¿qué tan satisfecho está con esta llamada? Pulse de 1 a 5; 5 significa muy satisfecho.",
        "ca": "Abans de penjar: quin grau de satisfacció té amb aquesta trucada? Premi de l'1 al 5; 5 vol dir molt satisfet.",
        "ko": "통화를 마치기 전에, 이번 상담에 얼마나 만족하셨습니까? 1번부터 5번까지 눌러 주십시오. 5번은 매우 만족입니다.",
        "zh": "挂机前，请您对本次通话进行评价：请按1到5，5表示非常满意。",
        "fr": "Avant de raccrocher : êtes-vous satisfait de cet appel ? Appuyez de 1 à 5 ; 5 signifie très satisfait.",
        "ja": "最後に、今回のお電話の満足度をお聞かせください。1から5のいずれかを押してください。5は「とても満足」です。",
        "ru": "Прежде чем вы положите трубку: насколько вы довольны этим звонком? Нажмите от 1 до 5, где 5 — самая высокая оценка.",
        "de": "Bevor Sie auflegen: Wie zufrieden sind Sie mit diesem Anruf? Drücken Sie eine Taste von 1 bis 5; 5 bedeutet sehr zufrieden.",
        "ar": "قبل إنهاء المكالمة: ما مدى رضاكم عن هذه المكالمة؟ يُرجى الضغط على رقم من 1 إلى 5، حيث يعني 5 أعلى درجة من الرضا.",
    },
    "survey_thanks": {
        "en": "Thank you for your answer. Goodbye.",
        "es": "Gracias por su respuesta. Adiós.",
        "ca": "Gràcies per la seva resposta. Adéu.",
        "ko": "응답해 주셔서 감사합니다. 안녕히 계십시오.",
        "zh": "感谢您的评价，再见。",
        "fr": "Merci pour votre réponse. Au revoir.",
        "ja": "ご回答ありがとうございました。失礼いたします。",
        "ru": "Спасибо за ваш ответ. До свидания.",
        "de": "Vielen Dank für Ihre Antwort. Auf Wiederhören.",
        "ar": "شكرًا لكم على إجابتكم. مع السلامة.",
    },
    "goodbye": {
        "en": "Thank you for calling. Goodbye.",
        "es": "Gracias por llamar. Adiós.",
        "ca": "Gràcies per trucar. Adéu.",
        "ko": "전화해 주셔서 감사합니다. 안녕히 계십시오.",
        "zh": "感谢您的来电，再见。",
        "fr": "Merci de votre appel. Au revoir.",
        "ja": "お電話ありがとうございました。失礼いたします。",
        "ru": "Спасибо за звонок. До свидания.",
        "de": "Vielen Dank für Ihren Anruf. Auf Wiederhören.",
        "ar": "شكرًا لاتصالكم. مع السلامة.",
    },
}

QUICK_REPLIES: dict[str, dict[str, str]] = {
    "registered": {
        "en": "Your complaint has been registered, number {n}.",
        "es": "Su queja ha sido registrada con el número {n}.",
        "ca": "La seva queixa ha estat registrada amb el número {n}.",
        "ko": "민원이 접수되었습니다. 접수 번호는 {n}입니다.",
        "zh": "您的投诉已登记，编号是{n}。",
        "fr": "Votre réclamation a été enregistrée sous le numéro {n}.",
        "ja": "お申し出を受け付けました。受付番号は{n}です。",
        "ru": "Ваша жалоба зарегистрирована под номером {n}.",
        "de": "Ihre Beschwerde wurde unter der Nummer {n} erfasst.",
        "ar": "تم تسجيل شكواكم برقم {n}.",
    },
    "address": {
        "en": "Could you tell me the exact address, please?",
        "es": "¿Podría decirme la dirección exacta, por favor?",
        "ca": "Em podria dir l'adreça exacta, si us plau?",
        "ko": "정확한 주소를 말씀해 주시겠습니까?",
        "zh": "请告诉我具体地址。",
        "fr": "Pourriez-vous me donner l'adresse exacte, s'il vous plaît ?",
        "ja": "正確な住所を教えていただけますか。",
        "ru": "Назовите, пожалуйста, точный адрес.",
        "de": "Könnten Sie mir bitte die genaue Adresse nennen?",
        "ar": "هل يمكنكم إخباري بالعنوان الدقيق من فضلكم؟",
    },
    "repeat": {
        "en": "Sorry, could you repeat that?",
        "es": "Perdone, ¿puede repetirlo?",
        "ca": "Perdoni, ho pot repetir?",
        "ko": "죄송합니다. 다시 말씀해 주시겠습니까?",
        "zh": "对不起，请您再说一遍。",
        "fr": "Pardon, pouvez-vous répéter ?",
        "ja": "恐れ入りますが、もう一度おっしゃっていただけますか。",
        "ru": "Извините, не могли бы вы повторить?",
        "de": "Entschuldigung, könnten Sie das bitte wiederholen?",
        "ar": "عذرًا، هل يمكنكم تكرار ذلك؟",
    },
    "wait": {
        "en": "One moment, please.",
        "es": "Un momento, por favor.",
        "ca": "Un moment, si us plau.",
        "ko": "잠시만 기다려 주십시오.",
        "zh": "请稍等。",
        "fr": "Un instant, s'il vous plaît.",
        "ja": "少々お待ちください。",
        "ru": "Одну минуту, пожалуйста.",
        "de": "Einen Moment, bitte.",
        "ar": "لحظة من فضلكم.",
    },
}


class _Keep(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _fill(template: str, params: dict[str, object]) -> str:
    names = {name for _, name, _, _ in string.Formatter().parse(template) if name}
    return template.format_map(_Keep({k: v for k, v in params.items() if k in names}))


def prompt(name: str, language: str, **params: object) -> str | None:
    """The prompt in ``language``, or None when nobody has written it in that language."""
    template = PROMPTS[name].get(language)
    return None if template is None else _fill(template, params)


def quick_reply(reply_id: str, language: str, params: dict[str, str]) -> str | None:
    template = QUICK_REPLIES.get(reply_id, {}).get(language)
    return None if template is None else _fill(template, params)
